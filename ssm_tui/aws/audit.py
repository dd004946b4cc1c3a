"""The auditor's questions across every account: which sessions printed X, who, where, when.

`search` reads the transcripts Session Manager wrote (CloudWatch Logs and S3, as each account's
`SSM-SessionManagerRunShell` preferences name them) in every selected profile, account and region
at once, and returns one `AuditHit` per matching line with its session, owner, instance and a few
lines of context. Two profiles of one account and region (prod, prod-readonly) read the same log
group: each (account, region) is searched once, through the first profile that answers.

- CloudWatch: `FilterLogEvents` over the group, the pattern sent as a quoted term so the service
  does the scan and only matching events travel (regexes cannot be a filter pattern: all events
  come back and are matched here). Logs Insights would need StartQuery/GetQueryResults polling
  (seconds of latency per query, billed per GB scanned) and moto has neither; see the README's
  audit section for the figures behind this choice.
- S3: `ListObjectsV2` under the prefix, then each transcript read in ranged GETs of `CHUNK` bytes,
  `concurrency` objects at once. Memory stays bounded by concurrency × CHUNK plus the context
  lines, whatever the size of a transcript.

No Textual here: the CLI, the app's screens and the benchmark call these coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ssm_tui.aws.clients import client
from ssm_tui.aws.errors import explain
from ssm_tui.aws.models import Scope, ScopeError
from ssm_tui.text import strip_escapes

CHUNK = 1024 * 1024
"""Bytes per ranged S3 GET."""
DEFAULT_CONCURRENCY = 16
"""Transcripts (S3 objects) read at once, over all scopes."""
DEFAULT_CONTEXT = 2
"""Lines of context before and after a hit."""
MAX_LINE = 4096
"""A hit's line (and context) is cut to this many characters: one 10 MB line stays one hit."""
STREAM_BATCH = 100
"""FilterLogEvents takes at most 100 log stream names."""
BOTOCORE_PREFIX = "botocore-session-"
BOTOCORE_HINT = (
    "a session from another tool (no role_session_name): ssm-tui names role sessions after you"
)


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What DescribeSessions says of one session (owner, target, reason, times)."""

    session_id: str
    target: str = ""
    owner_arn: str = ""
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""


@dataclass(frozen=True, slots=True)
class AuditHit:
    """One matching line of one session's transcript."""

    session_id: str
    owner: str
    """The person: the role session name or IAM user that started it."""
    owner_hint: str
    """Set when the owner is not a person's name (`botocore-session-…`)."""
    owner_arn: str
    target: str
    instance_name: str
    profile: str
    account_id: str
    region: str
    time: datetime | None
    line: str
    """The matching line, raw as AWS stores it (render with `visible_line`/`Text`)."""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    source: str = "cloudwatch"
    """'cloudwatch' or 's3'."""
    location: str = ""
    """Log group/stream or s3://bucket/key, for opening the transcript."""
    line_number: int = 0
    """0-based line of the hit in the transcript (S3) or in its event (CloudWatch)."""
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            **_who_and_where(self),
            "Time": self.time.isoformat() if self.time else None,
            "Line": self.line,
            "Before": list(self.before),
            "After": list(self.after),
            "Source": self.source,
            "Location": self.location,
            "LineNumber": self.line_number,
            "Reason": self.reason,
        }


def _who_and_where(item: AuditHit | SessionEvent) -> dict[str, Any]:
    """The JSON keys an audit hit and a watch event share: the session, its person, its place."""
    return {
        "SessionId": item.session_id,
        "Owner": item.owner,
        "OwnerHint": item.owner_hint,
        "OwnerArn": item.owner_arn,
        "Target": item.target,
        "InstanceName": item.instance_name,
        "Profile": item.profile,
        "AccountId": item.account_id,
        "Region": item.region,
    }


@dataclass(slots=True)
class SearchStats:
    scopes: int = 0
    cloudwatch_events: int = 0
    s3_objects: int = 0
    s3_bytes: int = 0
    requests: int = 0


@dataclass(frozen=True, slots=True)
class AuditResult:
    hits: tuple[AuditHit, ...]
    errors: tuple[ScopeError, ...]
    stats: SearchStats = field(default_factory=SearchStats)


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for; `matches` sees a line with escapes stripped."""

    pattern: str
    regex: bool = False
    ignore_case: bool = False
    since: datetime | None = None
    until: datetime | None = None
    owner: str | None = None
    target: str | None = None
    context: int = DEFAULT_CONTEXT

    def compiled(self) -> re.Pattern[str]:
        flags = re.IGNORECASE if self.ignore_case else 0
        return re.compile(self.pattern if self.regex else re.escape(self.pattern), flags)

    def filter_pattern(self) -> str:
        """The CloudWatch filter pattern that lets the service pre-select events ("" = all).

        A plain text becomes one quoted term; a regex or a case-insensitive search cannot be
        expressed (CloudWatch terms are case-sensitive), so every event is read and matched here.
        """
        if self.regex or self.ignore_case or not self.pattern or '"' in self.pattern:
            return ""
        return '"' + self.pattern + '"'


def owner_of(owner_arn: str, session_id: str) -> tuple[str, str]:
    """(person, hint) from the owner ARN, else from the session id (`alice-0abc…`)."""
    from ssm_tui.aws.models.history import caller_name

    name = caller_name(owner_arn) if owner_arn else ""
    if not name:
        name = session_id.rsplit("-", 1)[0] if "-" in session_id else session_id
    if name.startswith(BOTOCORE_PREFIX):
        return name, BOTOCORE_HINT
    return name, ""


def parse_age(text: str, now: datetime | None = None) -> datetime:
    """`7d`, `12h`, `30m`, `2w` before now, or an ISO date/time (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        return now - timedelta(**{unit[match.group(2)]: int(match.group(1))})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use 7d, 12h, 30m or 2026-01-31T12:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- one account and region ---------------------------------------------------------------------


@dataclass(slots=True)
class _Place:
    """One (account, region) to search, through one profile."""

    scope: Scope
    account_id: str
    log_group: str
    bucket: str
    prefix: str
    sessions: dict[str, SessionInfo]
    names: dict[str, str] = field(default_factory=dict)


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


async def _sessions(scope: Scope, since: datetime | None) -> dict[str, SessionInfo]:
    found: dict[str, SessionInfo] = {}
    filters = (
        [{"key": "InvokedAfter", "value": since.strftime("%Y-%m-%dT%H:%M:%SZ")}] if since else []
    )
    async with client("ssm", scope.profile, scope.region) as ssm:
        paginator = ssm.get_paginator("describe_sessions")
        for state in ("Active", "History"):
            kwargs: dict[str, Any] = {"State": state}
            if filters:
                kwargs["Filters"] = filters
            async for page in paginator.paginate(**kwargs):
                for item in page.get("Sessions", []):
                    sid = str(item.get("SessionId", ""))
                    found[sid] = SessionInfo(
                        session_id=sid,
                        target=str(item.get("Target", "")),
                        owner_arn=str(item.get("Owner", "")),
                        reason=str(item.get("Reason") or ""),
                        start=_aware(item.get("StartDate")),
                        end=_aware(item.get("EndDate")),
                        status=str(item.get("Status", "")),
                    )
    return found


async def _place(scope: Scope, query: Query) -> _Place | None:
    """Identity, logging preferences and sessions of one scope (None: logging is off there)."""
    from ssm_tui.aws.logs import LogsError, LogsState, read_preferences

    async with client("sts", scope.profile, scope.region) as sts:
        identity = await sts.get_caller_identity()
    try:
        prefs = await read_preferences(scope.profile, scope.region)
    except LogsError as error:
        if error.problem.state == LogsState.NOT_CONFIGURED:
            return None
        raise
    return _Place(
        scope=scope,
        account_id=str(identity.get("Account", "")),
        log_group=prefs.log_group,
        bucket=prefs.s3_bucket,
        prefix=prefs.s3_prefix,
        sessions=await _sessions(scope, query.since),
    )


def _wanted(place: _Place, session_id: str, query: Query) -> bool:
    info = place.sessions.get(session_id)
    if query.owner:
        owner, _ = owner_of(info.owner_arn if info else "", session_id)
        if owner != query.owner:
            return False
    if query.target:
        target = info.target if info else ""
        name = place.names.get(target, "")
        if query.target not in (target, name):
            return False
    return True


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[:MAX_LINE] + "…"


class _LineMatcher:
    """Feeds lines; yields (index, line, before, after) for matches, with bounded context."""

    def __init__(self, query: Query) -> None:
        self.regex = query.compiled()
        self.context = query.context
        self.before: deque[str] = deque(maxlen=query.context)
        self.pending: list[tuple[int, str, tuple[str, ...], list[str]]] = []
        self.index = 0
        self.done: list[tuple[int, str, tuple[str, ...], tuple[str, ...]]] = []

    def feed(self, line: str) -> None:
        line = line.rstrip("\r")
        still: list[tuple[int, str, tuple[str, ...], list[str]]] = []
        for item in self.pending:
            item[3].append(_clip(line))
            if len(item[3]) >= self.context:
                self.done.append((item[0], item[1], item[2], tuple(item[3])))
            else:
                still.append(item)
        self.pending = still
        if self.regex.search(strip_escapes(line)):
            entry: tuple[int, str, tuple[str, ...], list[str]] = (
                self.index,
                _clip(line),
                tuple(self.before),
                [],
            )
            if self.context:
                self.pending.append(entry)
            else:
                self.done.append((entry[0], entry[1], entry[2], ()))
        if self.context:
            self.before.append(_clip(line))
        self.index += 1

    def finish(self) -> list[tuple[int, str, tuple[str, ...], tuple[str, ...]]]:
        for item in self.pending:
            self.done.append((item[0], item[1], item[2], tuple(item[3])))
        self.pending = []
        done, self.done = self.done, []
        return done

    def take(self) -> list[tuple[int, str, tuple[str, ...], tuple[str, ...]]]:
        done, self.done = self.done, []
        return done


def _hit(
    place: _Place,
    session_id: str,
    when: datetime | None,
    found: tuple[int, str, tuple[str, ...], tuple[str, ...]],
    source: str,
    location: str,
) -> AuditHit:
    info = place.sessions.get(session_id)
    owner, hint = owner_of(info.owner_arn if info else "", session_id)
    target = info.target if info else ""
    return AuditHit(
        session_id=session_id,
        owner=owner,
        owner_hint=hint,
        owner_arn=info.owner_arn if info else "",
        target=target,
        instance_name=place.names.get(target, ""),
        profile=place.scope.profile,
        account_id=place.account_id,
        region=place.scope.region,
        time=when,
        line=found[1],
        before=found[2],
        after=found[3],
        source=source,
        location=location,
        line_number=found[0],
        reason=info.reason if info else "",
    )


async def _search_cloudwatch(place: _Place, query: Query, stats: SearchStats) -> list[AuditHit]:
    from ssm_tui.term.transcript import event_text

    hits: list[AuditHit] = []
    base: dict[str, Any] = {"logGroupName": place.log_group}
    if query.since:
        base["startTime"] = int(query.since.timestamp() * 1000)
    if query.until:
        base["endTime"] = int(query.until.timestamp() * 1000)
    if pattern := query.filter_pattern():
        base["filterPattern"] = pattern
    batches: list[list[str] | None] = [None]
    if query.owner and not query.target:
        # session ids start with the owner's name: the service picks the streams, including
        # sessions older than DescribeSessions remembers
        base["logStreamNamePrefix"] = f"{query.owner}-"
    elif query.owner or query.target:  # only the streams of the sessions asked for
        ids = [sid for sid in place.sessions if _wanted(place, sid, query)]
        batches = [ids[i : i + STREAM_BATCH] for i in range(0, len(ids), STREAM_BATCH)]
    async with client("logs", place.scope.profile, place.scope.region) as logs:
        paginator = logs.get_paginator("filter_log_events")
        for batch in batches:
            kwargs = dict(base)
            if batch is not None:
                kwargs["logStreamNames"] = batch
            async for page in paginator.paginate(**kwargs):
                stats.requests += 1
                for event in page.get("events", []):
                    stats.cloudwatch_events += 1
                    sid = str(event.get("logStreamName", ""))
                    if not _wanted(place, sid, query):
                        continue
                    matcher = _LineMatcher(query)
                    text = event_text(str(event.get("message", "")))
                    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
                        matcher.feed(line)
                    when = _aware(int(event.get("timestamp", 0)) / 1000)
                    location = f"{place.log_group}/{sid}"
                    hits += [
                        _hit(place, sid, when, f, "cloudwatch", location) for f in matcher.finish()
                    ]
    return hits


async def _list_objects(place: _Place, stats: SearchStats, query: Query) -> list[dict[str, Any]]:
    from ssm_tui.aws.logs import session_id_from_key

    prefix = place.prefix.strip("/")
    objects: list[dict[str, Any]] = []
    async with client("s3", place.scope.profile, place.scope.region) as s3:
        paginator = s3.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": place.bucket}
        if prefix:
            kwargs["Prefix"] = prefix + "/"
        async for page in paginator.paginate(**kwargs):
            stats.requests += 1
            for item in page.get("Contents", []):
                key = str(item.get("Key", ""))
                if not key.endswith(".log"):
                    continue
                modified = _aware(item.get("LastModified"))
                if query.since and modified and modified < query.since:
                    continue  # written (at the session's end) before the window
                sid = session_id_from_key(key)
                if query.until:
                    info = place.sessions.get(sid)
                    start = info.start if info and info.start else modified
                    if start and start > query.until:
                        continue
                if _wanted(place, sid, query):
                    objects.append({"Key": key, "Size": int(item.get("Size", 0)), "When": modified})
    return objects


async def read_ranged(
    s3: Any,
    bucket: str,
    key: str,
    size: int,
    on_line: Callable[[str], None],
    stats: SearchStats | None = None,
    chunk: int = CHUNK,
) -> None:
    """Feed every line of one object to `on_line`, reading `chunk` bytes per ranged GET.

    Only the open (unfinished) line is carried from one range to the next, so a transcript of any
    size costs one chunk of memory (a single line longer than a chunk is cut at MAX_LINE by the
    matcher, but still carried whole: bounded by the line, as any line reader is).
    """
    carry = b""
    offset = 0
    while offset < size or (size == 0 and offset == 0):
        end = min(size, offset + chunk) - 1
        if size == 0:
            break
        reply = await s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-{end}")
        async with reply["Body"] as body:
            data = await body.read()
        if stats is not None:
            stats.requests += 1
            stats.s3_bytes += len(data)
        if not data:
            break
        offset += len(data)
        data = carry + data
        lines = data.split(b"\n")
        carry = lines.pop()
        if len(carry) > chunk * 4:  # a monstrous line: keep its start only
            carry = carry[: MAX_LINE * 4]
        for line in lines:
            on_line(line.decode("utf-8", "replace"))
    if carry:
        on_line(carry.decode("utf-8", "replace"))


async def _search_s3(
    place: _Place,
    query: Query,
    stats: SearchStats,
    gate: asyncio.Semaphore,
    skip: set[str],
) -> list[AuditHit]:
    from ssm_tui.aws.logs import session_id_from_key

    objects = [
        o
        for o in await _list_objects(place, stats, query)
        if session_id_from_key(o["Key"]) not in skip
    ]
    hits: list[AuditHit] = []
    async with client("s3", place.scope.profile, place.scope.region) as s3:

        async def one(item: dict[str, Any]) -> None:
            sid = session_id_from_key(item["Key"])
            matcher = _LineMatcher(query)
            location = f"s3://{place.bucket}/{item['Key']}"
            async with gate:
                stats.s3_objects += 1
                await read_ranged(s3, place.bucket, item["Key"], item["Size"], matcher.feed, stats)
            info = place.sessions.get(sid)
            when = (info.start if info else None) or item["When"]
            hits.extend(_hit(place, sid, when, f, "s3", location) for f in matcher.finish())

        await asyncio.gather(*(one(item) for item in objects))
    return hits


async def _instance_names(place: _Place) -> None:
    """Name tags of the sessions' targets (EC2 tags; a hybrid node's tags or computer name)."""
    targets = {s.target for s in place.sessions.values()}
    managed = sorted(t for t in targets if t.startswith("mi-"))
    if managed:
        await _managed_names(place, managed)
    ids = sorted(t for t in targets if t.startswith("i-"))
    if not ids:
        return
    async with client("ec2", place.scope.profile, place.scope.region) as ec2:
        paginator = ec2.get_paginator("describe_instances")
        for start in range(0, len(ids), 200):
            filters = [{"Name": "instance-id", "Values": ids[start : start + 200]}]
            async for page in paginator.paginate(Filters=filters):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                        place.names[instance["InstanceId"]] = tags.get("Name", "")


async def _managed_names(place: _Place, ids: list[str]) -> None:
    async with client("ssm", place.scope.profile, place.scope.region) as ssm:
        for start in range(0, len(ids), 50):
            reply = await ssm.describe_instance_information(
                Filters=[{"Key": "InstanceIds", "Values": ids[start : start + 50]}]
            )
            for info in reply.get("InstanceInformationList", []):
                place.names[info["InstanceId"]] = str(
                    info.get("Name") or info.get("ComputerName") or ""
                )
        for node in ids:
            try:
                reply = await ssm.list_tags_for_resource(
                    ResourceType="ManagedInstance", ResourceId=node
                )
            except Exception:  # noqa: BLE001 - the computer name stays
                continue
            name = {t["Key"]: t["Value"] for t in reply.get("TagList", [])}.get("Name")
            if name:
                place.names[node] = name


# -- across scopes ------------------------------------------------------------------------------


async def places(scopes: Sequence[Scope], query: Query, errors: list[ScopeError]) -> list[_Place]:
    """One `_Place` per (account, region): scopes of the same account and region share it."""

    async def one(scope: Scope) -> _Place | None:
        try:
            return await _place(scope, query)
        except Exception as exc:  # noqa: BLE001 - one failing profile never hides the others
            errors.append(_explain(exc, scope))
            return None

    found = await asyncio.gather(*(one(scope) for scope in scopes))
    unique: dict[tuple[str, str], _Place] = {}
    for place in found:
        if place is not None:
            unique.setdefault((place.account_id, place.scope.region), place)
    return list(unique.values())


def _explain(exc: BaseException, scope: Scope) -> ScopeError:
    from ssm_tui.aws.logs import LogsError

    if isinstance(exc, LogsError):
        problem = exc.problem
        return ScopeError(scope.profile, scope.region, problem.message, problem.hint)
    return explain(exc, scope.profile, scope.region)


async def search(
    scopes: Sequence[Scope],
    query: Query,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    sources: Iterable[str] = ("cloudwatch", "s3"),
) -> AuditResult:
    """Every matching line of every transcript in `scopes`, newest first.

    CloudWatch is read first; S3 then reads only sessions CloudWatch had no hit for (both hold
    the same transcript when both are configured, and a hit is reported once).
    """
    errors: list[ScopeError] = []
    stats = SearchStats(scopes=len(scopes))
    found = await places(scopes, query, errors)
    gate = asyncio.Semaphore(max(1, concurrency))
    wanted = set(sources)

    async def one(place: _Place) -> list[AuditHit]:
        hits: list[AuditHit] = []
        try:
            await _instance_names(place)
        except Exception:  # noqa: BLE001 - names are a nicety; hits still show the id
            pass
        if place.log_group and "cloudwatch" in wanted:
            try:
                hits += await _search_cloudwatch(place, query, stats)
            except Exception as exc:  # noqa: BLE001
                errors.append(_explain(exc, place.scope))
        if place.bucket and "s3" in wanted:
            seen = {hit.session_id for hit in hits}
            try:
                hits += await _search_s3(place, query, stats, gate, seen)
            except Exception as exc:  # noqa: BLE001
                errors.append(_explain(exc, place.scope))
        return hits

    results = await asyncio.gather(*(one(place) for place in found))
    floor = datetime.min.replace(tzinfo=UTC)
    hits = sorted(
        (hit for chunk in results for hit in chunk),
        key=lambda h: (h.time or floor, h.session_id, h.line_number),
        reverse=True,
    )
    errors.sort(key=lambda e: (e.profile, e.region or ""))
    return AuditResult(tuple(hits), tuple(errors), stats)


def with_name(hit: AuditHit, name: str) -> AuditHit:
    return replace(hit, instance_name=name)


def dumps(hit: AuditHit) -> str:
    return json.dumps(hit.as_json())


# -- watch --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """A session seen starting, ending, already running (the first poll), or a pattern match."""

    kind: str
    """'start', 'end', 'active' (connected when the watch began) or 'pattern'."""
    session_id: str
    owner: str
    owner_hint: str
    owner_arn: str
    target: str
    instance_name: str
    profile: str
    account_id: str
    region: str
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""
    line: str = ""
    """For 'pattern': the matching line (raw)."""
    pattern: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "Event": self.kind,
            **_who_and_where(self),
            "Reason": self.reason,
            "StartDate": self.start.isoformat() if self.start else None,
            "EndDate": self.end.isoformat() if self.end else None,
            "Status": self.status,
            "Line": self.line,
            "Pattern": self.pattern,
        }


@dataclass(slots=True)
class _WatchPlace:
    scope: Scope
    account_id: str
    log_group: str = ""
    active: dict[str, SessionInfo] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    checked_ms: int = 0
    """FilterLogEvents start time of the next pattern check."""
    seen_events: set[str] = field(default_factory=set)
    ended: dict[str, float] = field(default_factory=dict)
    """Ended session id -> when (monotonic): their transcript lands after the end, so pattern
    checks keep reading those streams a little longer."""
    primed: bool = False
    """Its Active sessions were read once: later ones are starts, not what was already there."""
    retry: Retry | None = None
    """Set while its polls fail: when to ask again."""


@dataclass(slots=True)
class Retry:
    """A scope whose poll failed: retried with a capped, doubling delay until it works."""

    error: ScopeError
    failures: int = 1
    next_at: float = 0.0
    """time.monotonic() of the next try."""

    def delay(self, first: float, cap: float) -> float:
        return min(cap, first * 2 ** (self.failures - 1))


class Watcher:
    """Polls DescribeSessions (State=Active) of every (account, region) and reports changes.

    DescribeSessions rather than CloudTrail LookupEvents: it needs only `ssm:DescribeSessions`
    (the role that starts sessions has it; CloudTrail access is often kept to security
    accounts), it is per region like the sessions, and it also shows sessions that end without
    a TerminateSession call (the agent ending an idle one). Lookup is rate-limited to 2 calls/s
    per account, too slow for a fleet-wide feed.

    A scope that fails (expired credentials, throttling, a network fault) is retried after
    `retry_first` seconds, then twice as long each time up to `retry_cap`; `errors` says which
    fail and when they are tried next, and `recovered` names the scopes that work again after
    failing (once, on the poll they came back). Sessions that started while a scope was failing
    are reported as starts when it comes back (by their StartDate), so no start is lost to a
    bad first poll.

    `patterns` ({regex: label}) are checked with FilterLogEvents on the log streams of active
    and just-ended sessions (live with `cloudWatchStreamingEnabled`, else once the transcript is
    written at the end).
    """

    LINGER = 120.0
    """Seconds an ended session's stream is still checked for patterns."""
    RETRY_FIRST = 5.0
    """Seconds before a failed scope is first tried again."""
    RETRY_CAP = 300.0
    """The longest wait between two tries of a failing scope."""

    def __init__(
        self,
        scopes: Sequence[Scope],
        patterns: Sequence[str] = (),
        *,
        retry_first: float | None = None,
        retry_cap: float | None = None,
    ) -> None:
        self.scopes = list(scopes)
        self.patterns = [re.compile(p) for p in dict.fromkeys(patterns)]
        self.retry_first = self.RETRY_FIRST if retry_first is None else retry_first
        self.retry_cap = max(self.retry_first, self.RETRY_CAP if retry_cap is None else retry_cap)
        self._places: list[_WatchPlace] | None = None
        self._unset: dict[Scope, Retry] = {}
        """Scopes whose identity could not be read yet (no account, so no place)."""
        self.began: datetime | None = None
        self.errors: list[ScopeError] = []
        """The scopes failing now, each with when it is tried next."""
        self.recovered: list[Scope] = []
        """Scopes that work again after failing, on the poll they came back."""
        self._round_errors: list[ScopeError] = []
        """This poll's pattern-check failures (they never hold back the session polls)."""

    def _failed(self, retry: Retry | None, exc: BaseException, scope: Scope) -> Retry:
        """Count one more failure and schedule the next try."""
        error = _explain(exc, scope)
        if retry is None:
            retry = Retry(error)
        else:
            retry = replace(retry, error=error, failures=retry.failures + 1)
        retry.next_at = time.monotonic() + retry.delay(self.retry_first, self.retry_cap)
        return retry

    def _shown(self, retry: Retry) -> ScopeError:
        wait = max(0.0, retry.next_at - time.monotonic())
        error = retry.error
        return error._replace(
            message=f"{error.message} (failed {retry.failures}×; retrying in {wait:.0f} s)"
        )

    async def _setup_one(self, scope: Scope) -> _WatchPlace:
        async with client("sts", scope.profile, scope.region) as sts:
            identity = await sts.get_caller_identity()
        place = _WatchPlace(scope, str(identity.get("Account", "")))
        if self.patterns:
            from ssm_tui.aws.logs import LogsError, read_preferences

            try:
                place.log_group = (await read_preferences(scope.profile, scope.region)).log_group
            except LogsError:
                pass
        place.checked_ms = int(datetime.now(UTC).timestamp() * 1000)
        return place

    async def _setup(self, scopes: Sequence[Scope]) -> list[Scope]:
        """Places for `scopes` (one per account and region); the scopes that now work."""

        async def one(scope: Scope) -> _WatchPlace | None:
            try:
                return await self._setup_one(scope)
            except Exception as exc:  # noqa: BLE001 - retried later; the others still poll
                self._unset[scope] = self._failed(self._unset.get(scope), exc, scope)
                return None

        found = await asyncio.gather(*(one(scope) for scope in scopes))
        assert self._places is not None
        have = {(p.account_id, p.scope.region) for p in self._places}
        working = []
        for place in found:
            if place is None:
                continue
            working.append(place.scope)
            self._unset.pop(place.scope, None)
            key = (place.account_id, place.scope.region)
            if key not in have:  # two profiles of one account and region: one place
                have.add(key)
                self._places.append(place)
        return working

    async def poll(self) -> list[SessionEvent]:
        """One round over every place: the events since the previous round."""
        self.recovered = []
        self._round_errors = []
        if self._places is None:
            self._places = []
            self.began = datetime.now(UTC)
            await self._setup(self.scopes)
        else:
            now = time.monotonic()
            due = [s for s, r in self._unset.items() if r.next_at <= now]
            if due:
                self.recovered += await self._setup(due)
        results = await asyncio.gather(*(self._poll_place(p) for p in self._places))
        self.errors = sorted(
            [self._shown(r) for r in self._unset.values()]
            + [self._shown(p.retry) for p in self._places if p.retry is not None]
            + self._round_errors,
            key=lambda e: (e.profile, e.region or ""),
        )
        return [event for chunk in results for event in chunk]

    async def _poll_place(self, place: _WatchPlace) -> list[SessionEvent]:
        if place.retry is not None and place.retry.next_at > time.monotonic():
            return []  # failing: not asked again before its time
        try:
            now_active = await _active_sessions(place.scope)
        except Exception as exc:  # noqa: BLE001 - reported; the other places still poll
            place.retry = self._failed(place.retry, exc, place.scope)
            return []
        if place.retry is not None:
            place.retry = None
            self.recovered.append(place.scope)
        events: list[SessionEvent] = []
        started = [s for sid, s in now_active.items() if sid not in place.active]
        ended = [s for sid, s in place.active.items() if sid not in now_active]
        await self._names(place, [s.target for s in started])
        for info in started:
            events.append(self._event(self._kind(place, info), place, info))
        loop = asyncio.get_running_loop()
        for info in ended:
            final = await _ended_session(place.scope, info)
            place.ended[info.session_id] = loop.time()
            events.append(self._event("end", place, final))
        place.active = now_active
        place.primed = True
        if self.patterns and place.log_group:
            try:
                events += await self._patterns(place)
            except Exception as exc:  # noqa: BLE001 - said; the sessions are still polled
                self._round_errors.append(_explain(exc, place.scope))
        return events

    def _kind(self, place: _WatchPlace, info: SessionInfo) -> str:
        """'start' for a session new since the last poll; 'active' for one that was connected
        before the watch began (a scope read late, after failing, still reports its starts)."""
        if place.primed:
            return "start"
        if self.began is not None and info.start is not None and info.start >= self.began:
            return "start"
        return "active"

    async def _names(self, place: _WatchPlace, targets: Iterable[str]) -> None:
        wanted = sorted({t for t in targets if t.startswith("i-") and t not in place.names})
        if not wanted:
            return
        probe = _Place(place.scope, place.account_id, "", "", "", {})
        probe.sessions = {t: SessionInfo(session_id=t, target=t) for t in wanted}
        try:
            await _instance_names(probe)
        except Exception:  # noqa: BLE001 - a name is a nicety
            return
        place.names.update(probe.names)

    def _event(
        self, kind: str, place: _WatchPlace, info: SessionInfo, **extra: Any
    ) -> SessionEvent:
        owner, hint = owner_of(info.owner_arn, info.session_id)
        return SessionEvent(
            kind=kind,
            session_id=info.session_id,
            owner=owner,
            owner_hint=hint,
            owner_arn=info.owner_arn,
            target=info.target,
            instance_name=place.names.get(info.target, ""),
            profile=place.scope.profile,
            account_id=place.account_id,
            region=place.scope.region,
            reason=info.reason,
            start=info.start,
            end=info.end,
            status=info.status,
            **extra,
        )

    async def _patterns(self, place: _WatchPlace) -> list[SessionEvent]:
        from ssm_tui.term.transcript import event_text

        loop = asyncio.get_running_loop()
        place.ended = {s: t for s, t in place.ended.items() if loop.time() - t < self.LINGER}
        streams = sorted({*place.active, *place.ended})
        if not streams:
            return []
        since = place.checked_ms - 5_000  # events are stamped when printed, written a bit later
        place.checked_ms = int(datetime.now(UTC).timestamp() * 1000)
        events: list[SessionEvent] = []
        async with client("logs", place.scope.profile, place.scope.region) as logs:
            paginator = logs.get_paginator("filter_log_events")
            for start in range(0, len(streams), STREAM_BATCH):
                kwargs = {
                    "logGroupName": place.log_group,
                    "logStreamNames": streams[start : start + STREAM_BATCH],
                    "startTime": since,
                }
                try:
                    pages = [page async for page in paginator.paginate(**kwargs)]
                except Exception as exc:  # noqa: BLE001 - no stream yet: nothing written
                    if "ResourceNotFound" in type(exc).__name__ or "ResourceNotFound" in str(exc):
                        continue
                    raise
                for page in pages:
                    for item in page.get("events", []):
                        key = str(
                            item.get("eventId")
                            or (item.get("logStreamName"), item.get("timestamp"))
                        )
                        if key in place.seen_events:
                            continue
                        place.seen_events.add(key)
                        sid = str(item.get("logStreamName", ""))
                        info = place.active.get(sid) or SessionInfo(session_id=sid)
                        for line in event_text(str(item.get("message", ""))).split("\n"):
                            plain = strip_escapes(line)
                            for regex in self.patterns:
                                if regex.search(plain):
                                    events.append(
                                        self._event(
                                            "pattern",
                                            place,
                                            info,
                                            line=_clip(line.rstrip("\r")),
                                            pattern=regex.pattern,
                                        )
                                    )
        return events


async def _active_sessions(scope: Scope) -> dict[str, SessionInfo]:
    found: dict[str, SessionInfo] = {}
    async with client("ssm", scope.profile, scope.region) as ssm:
        paginator = ssm.get_paginator("describe_sessions")
        async for page in paginator.paginate(State="Active"):
            for item in page.get("Sessions", []):
                info = _info(item)
                found[info.session_id] = info
    return found


def _info(item: dict[str, Any]) -> SessionInfo:
    return SessionInfo(
        session_id=str(item.get("SessionId", "")),
        target=str(item.get("Target", "")),
        owner_arn=str(item.get("Owner", "")),
        reason=str(item.get("Reason") or ""),
        start=_aware(item.get("StartDate")),
        end=_aware(item.get("EndDate")),
        status=str(item.get("Status", "")),
    )


async def _ended_session(scope: Scope, info: SessionInfo) -> SessionInfo:
    """The History record of a session that left Active (its end date), else what we had."""
    try:
        async with client("ssm", scope.profile, scope.region) as ssm:
            reply = await ssm.describe_sessions(
                State="History", Filters=[{"key": "SessionId", "value": info.session_id}]
            )
    except Exception:  # noqa: BLE001 - the end is still reported
        return replace(info, status="Terminated")
    items = reply.get("Sessions") or []
    return _info(items[0]) if items else replace(info, status="Terminated")


# -- hooks --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookRun:
    command: str
    returncode: int
    stderr: str = ""


async def run_hook(command: str, event: SessionEvent, timeout: float = 30.0) -> HookRun:
    """Run a settings hook through the shell with the event's JSON on stdin.

    The command is the user's own (from their settings file); the event's text reaches it only
    on stdin, never on the command line, so a hostile tag or log line cannot become shell code.
    """
    payload = (json.dumps(event.as_json()) + "\n").encode()
    import os
    import signal

    process = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(payload), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the shell and what it started
        await process.wait()
        return HookRun(command, -9, f"timed out after {timeout:g} s")
    return HookRun(command, process.returncode or 0, err.decode("utf-8", "replace")[-2000:])


def hooks_for(event: SessionEvent, audit_settings: Any) -> list[str]:
    """The commands `[audit]` settings name for this event."""
    if event.kind == "start" and audit_settings.on_session_start:
        return [audit_settings.on_session_start]
    if event.kind == "end" and audit_settings.on_session_end:
        return [audit_settings.on_session_end]
    if event.kind == "pattern":
        return [h.command for h in audit_settings.on_pattern if h.pattern == event.pattern]
    return []


# -- Run As -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunAs:
    """Which OS user a shell session will run as, from the preferences (and the principal tag)."""

    enabled: bool
    user: str
    """The OS user: runAsDefaultUser / the SSMSessionRunAs tag; 'ssm-user' when Run As is off."""
    source: str
    """'preferences', 'tag', 'default' (ssm-user) or 'unknown' (the document was unreadable)."""

    def describe(self) -> str:
        if self.source == "unknown":
            return "runs as: unknown (the Session Manager preferences are not readable)"
        if not self.enabled:
            return "runs as: ssm-user (Run As is off)"
        origin = "SSMSessionRunAs tag" if self.source == "tag" else "runAsDefaultUser"
        return f"runs as: {self.user} ({origin})"


def parse_run_as(content: str, principal_tag: str | None = None) -> RunAs:
    try:
        data = json.loads(content)
    except ValueError:
        return RunAs(False, "", "unknown")
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if not isinstance(inputs, dict):
        return RunAs(False, "ssm-user", "default")
    enabled = inputs.get("runAsEnabled") in (True, "true", "True")
    if not enabled:
        return RunAs(False, "ssm-user", "default")
    if principal_tag:  # the agent takes the principal's tag over the default user
        return RunAs(True, principal_tag, "tag")
    return RunAs(True, str(inputs.get("runAsDefaultUser") or ""), "preferences")


async def run_as(profile: str, region: str) -> RunAs:
    """Read runAsEnabled / runAsDefaultUser (and the role's or user's SSMSessionRunAs tag)."""
    from ssm_tui.aws.logs import PREFERENCES_DOCUMENT

    try:
        async with client("ssm", profile, region) as ssm:
            reply = await ssm.get_document(Name=PREFERENCES_DOCUMENT)
    except Exception:  # noqa: BLE001 - not readable: said so
        return RunAs(False, "", "unknown")
    return parse_run_as(str(reply.get("Content", "")), await _principal_tag(profile, region))


async def _principal_tag(profile: str, region: str) -> str | None:
    """The `SSMSessionRunAs` tag of the caller's IAM role or user, when IAM lets us read it."""
    try:
        async with client("sts", profile, region) as sts:
            arn = str((await sts.get_caller_identity()).get("Arn", ""))
        async with client("iam", profile, region) as iam:
            if ":assumed-role/" in arn:
                role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
                tags = (await iam.list_role_tags(RoleName=role)).get("Tags", [])
            elif ":user/" in arn:
                user = arn.rsplit("/", 1)[-1]
                tags = (await iam.list_user_tags(UserName=user)).get("Tags", [])
            else:
                return None
    except Exception:  # noqa: BLE001 - unreadable tags: the preferences decide
        return None
    for tag in tags:
        if tag.get("Key") == "SSMSessionRunAs" and tag.get("Value"):
            return str(tag["Value"])
    return None
