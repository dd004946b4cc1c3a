"""Session Manager logging: where transcripts go, which are mine, and reading them page by page.

Session Manager writes a session's output where the account's preferences say (the
`SSM-SessionManagerRunShell` document): a CloudWatch Logs group (one stream per session, named by
session id) and/or an S3 bucket (`prefix/SESSIONID.log`). A session id begins with the caller's
name (IAM user name or role session name), which is how "my transcripts" are found by prefix.

Callers: the logs panel (`list_transcripts`), the transcript viewer and `ssm-tui logs`
(`find_transcripts`, `open_transcript`), all through the services object for the UI. Failures
never escape as tracebacks: they become a `LogsProblem` with a state the UI can show (not
configured, no permission naming the IAM action, not written yet) and a next step. The records
are in `aws.models`, `LogsError` in `aws.exceptions`: the UI imports those, never this module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore import exceptions as bce

from ssm_tui.aws.clients import client
from ssm_tui.aws.errors import DENIED_CODES, explain
from ssm_tui.aws.exceptions import LogsError
from ssm_tui.aws.models.history import caller_name
from ssm_tui.aws.models.logs import (
    TRANSCRIPT_LIMIT,
    CallerIdentity,
    LoggingPreferences,
    LogsProblem,
    LogsState,
    TranscriptListing,
    TranscriptRef,
)

PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"
FIRST_PAGE_EVENTS = 1000
"""Events in the first CloudWatch page: small, so the viewer shows something at once."""
PAGE_EVENTS = 10_000
FIRST_PAGE_BYTES = 128 * 1024
"""Bytes in the first ranged S3 read."""
PAGE_BYTES = 1024 * 1024

IAM_ACTIONS: dict[str, str] = {
    "GetDocument": "ssm:GetDocument",
    "DescribeSessions": "ssm:DescribeSessions",
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "DescribeLogStreams": "logs:DescribeLogStreams",
    "GetLogEvents": "logs:GetLogEvents",
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
}
"""The IAM action each API call needs (S3's differ from the operation names)."""

TURN_ON_HINT = (
    "turn on session logging: Systems Manager console → Session Manager → Preferences → Edit → "
    "CloudWatch logging and/or S3 logging (this writes the SSM-SessionManagerRunShell document)"
)
NOT_WRITTEN_HINT = (
    "Session Manager uploads a transcript when the session ends; "
    "an active session has none yet (with CloudWatch streaming on, it appears as it runs)"
)
NOT_FOUND_CODES = frozenset(
    {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "404", "NotFound"}
)


@dataclass(slots=True)
class TranscriptPage:
    """One page of a transcript: text chunks with the time each began (None for S3)."""

    chunks: list[tuple[str, float | None]] = field(default_factory=list)
    raw: bytes = b""
    """S3 pages carry bytes (a UTF-8 sequence may be cut at the range's end)."""
    done: bool = False
    """No more pages now (a followed CloudWatch stream may grow later)."""
    total_size: int | None = None


# -- problems ----------------------------------------------------------------------------------


def _code(exc: BaseException) -> str:
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def problem_for(
    exc: BaseException, profile: str, region: str | None, operation: str, source: str
) -> LogsProblem:
    """A `LogsProblem` for a failed call, naming the IAM action when access was denied."""
    code = _code(exc)
    action = IAM_ACTIONS.get(operation, operation)
    if action and (code in DENIED_CODES or code == "403"):
        return LogsProblem(
            LogsState.NO_PERMISSION,
            f"no permission: {action} was denied",
            f"ask your administrator to allow {action} for this role"
            + (" (and kms:Decrypt if the logs are encrypted)" if source != "identity" else ""),
            action,
            profile,
            source,
        )
    if code in NOT_FOUND_CODES or (
        isinstance(exc, bce.ClientError)
        and exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    ):
        return LogsProblem(
            LogsState.NOT_WRITTEN,
            f"transcript not written yet ({source})",
            NOT_WRITTEN_HINT,
            "",
            profile,
            source,
        )
    err = explain(exc, profile, region)
    return LogsProblem(LogsState.ERROR, err.message, err.hint, "", profile, source)


# -- identity and preferences -------------------------------------------------------------------


async def caller_identity(profile: str, region: str) -> CallerIdentity:
    """STS GetCallerIdentity for one profile (raises `LogsError`)."""
    try:
        async with client("sts", profile, region) as sts:
            reply = await sts.get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - turned into a shown problem
        raise LogsError(problem_for(exc, profile, region, "GetCallerIdentity", "identity")) from exc
    arn = str(reply.get("Arn", ""))
    return CallerIdentity(str(reply.get("Account", "")), arn, caller_name(arn))


def parse_preferences(profile: str, region: str, content: str) -> LoggingPreferences:
    """Read the logging inputs out of the preferences document's JSON content."""
    try:
        data = json.loads(content)
    except ValueError:
        data = {}
    inputs = data.get("inputs", {}) if isinstance(data, dict) else {}
    if not isinstance(inputs, dict):
        inputs = {}

    def flag(name: str) -> bool:
        value = inputs.get(name, False)
        return value is True or str(value).lower() == "true"

    return LoggingPreferences(
        profile=profile,
        region=region,
        log_group=str(inputs.get("cloudWatchLogGroupName") or ""),
        s3_bucket=str(inputs.get("s3BucketName") or ""),
        s3_prefix=str(inputs.get("s3KeyPrefix") or ""),
        cloudwatch_encryption=flag("cloudWatchEncryptionEnabled"),
        s3_encryption=flag("s3EncryptionEnabled"),
        cloudwatch_streaming=flag("cloudWatchStreamingEnabled"),
        kms_key_id=str(inputs.get("kmsKeyId") or ""),
    )


async def read_preferences(profile: str, region: str) -> LoggingPreferences:
    """The account's logging preferences; `LogsError` NOT_CONFIGURED when there are none."""
    try:
        async with client("ssm", profile, region) as ssm:
            reply = await ssm.get_document(Name=PREFERENCES_DOCUMENT)
    except Exception as exc:  # noqa: BLE001
        if _code(exc) in ("InvalidDocument", "InvalidDocumentVersion"):
            raise LogsError(_not_configured(profile, region)) from exc
        raise LogsError(problem_for(exc, profile, region, "GetDocument", "preferences")) from exc
    prefs = parse_preferences(profile, region, str(reply.get("Content", "")))
    if not prefs.configured:
        raise LogsError(_not_configured(profile, region))
    return prefs


def _not_configured(profile: str, region: str) -> LogsProblem:
    return LogsProblem(
        LogsState.NOT_CONFIGURED,
        f"session logging is not configured in {region}",
        TURN_ON_HINT,
        "",
        profile,
        "preferences",
    )


# -- listing ------------------------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    """CloudWatch gives epoch milliseconds, S3 gives datetimes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def session_id_from_key(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[: -len(".log")] if name.endswith(".log") else name


async def _list_streams(
    prefs: LoggingPreferences, prefix: str, limit: int
) -> tuple[list[TranscriptRef], bool]:
    """Log streams whose names begin with `prefix` ('' = everyone's), newest first."""
    refs: list[TranscriptRef] = []
    truncated = False
    async with client("logs", prefs.profile, prefs.region) as logs:
        kwargs: dict[str, Any] = {"logGroupName": prefs.log_group}
        if prefix:
            # CloudWatch refuses a name prefix together with orderBy=LastEventTime: list all
            # matching streams (by name), then sort by time here.
            kwargs["logStreamNamePrefix"] = prefix
            cap = limit * 4
        else:
            kwargs.update(orderBy="LastEventTime", descending=True)
            cap = limit
        token: str | None = None
        while True:
            if token:
                kwargs["nextToken"] = token
            reply = await logs.describe_log_streams(**kwargs)
            for stream in reply.get("logStreams", []):
                refs.append(
                    TranscriptRef(
                        "cloudwatch",
                        prefs.profile,
                        prefs.region,
                        str(stream["logStreamName"]),
                        prefs.log_group,
                        str(stream["logStreamName"]),
                        stream.get("storedBytes"),
                        _when(stream.get("firstEventTimestamp") or stream.get("creationTime")),
                        _when(
                            stream.get("lastEventTimestamp")
                            or stream.get("lastIngestionTime")
                            or stream.get("creationTime")
                        ),
                    )
                )
            token = reply.get("nextToken")
            if not token or len(refs) >= cap:
                truncated = bool(token)
                break
    return refs, truncated


async def _list_objects(
    prefs: LoggingPreferences, name_prefix: str, limit: int
) -> tuple[list[TranscriptRef], bool]:
    """S3 transcripts under the preferences' prefix whose names begin with `name_prefix`."""
    refs: list[TranscriptRef] = []
    truncated = False
    async with client("s3", prefs.profile, prefs.region) as s3:
        kwargs: dict[str, Any] = {
            "Bucket": prefs.s3_bucket,
            "Prefix": prefs.key_prefix + name_prefix,
        }
        while True:
            reply = await s3.list_objects_v2(**kwargs)
            for obj in reply.get("Contents", []):
                key = str(obj["Key"])
                if "/" in key[len(prefs.key_prefix) :]:
                    continue  # deeper folders are not Session Manager's
                refs.append(
                    TranscriptRef(
                        "s3",
                        prefs.profile,
                        prefs.region,
                        session_id_from_key(key),
                        prefs.s3_bucket,
                        key,
                        obj.get("Size"),
                        None,
                        _when(obj.get("LastModified")),
                    )
                )
            token = reply.get("NextContinuationToken")
            if not token or len(refs) >= limit * 4:
                truncated = bool(token)
                break
            kwargs["ContinuationToken"] = token
    return refs, truncated


def _newest_first(refs: list[TranscriptRef]) -> list[TranscriptRef]:
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(refs, key=lambda r: (r.last_time or floor, r.session_id), reverse=True)


async def list_transcripts(
    profile: str,
    region: str,
    *,
    everyone: bool = False,
    search: str = "",
    limit: int = TRANSCRIPT_LIMIT,
) -> TranscriptListing:
    """The profile's transcripts from CloudWatch and S3, newest first. Never raises for AWS errors.

    Mine = names beginning with the caller's session name (`alice-…`); `everyone=True` lists all.
    One source failing (no permission on S3, say) leaves the other's transcripts listed.
    """
    problems: list[LogsProblem] = []
    try:
        prefs, caller = await asyncio.gather(
            read_preferences(profile, region), caller_identity(profile, region)
        )
    except LogsError as exc:
        return TranscriptListing(profile, region, problems=(exc.problem,), everyone=everyone)
    prefix = "" if everyone else caller.session_prefix

    async def guarded(source: str, operation: str, coro: Any) -> tuple[list[TranscriptRef], bool]:
        try:
            return await coro
        except Exception as exc:  # noqa: BLE001 - one source never hides the other
            problem = problem_for(exc, profile, region, operation, source)
            if problem.state is LogsState.NOT_WRITTEN:
                problem = LogsProblem(
                    LogsState.ERROR,
                    f"the {source} destination named in the preferences does not exist",
                    f"create it, or fix {PREFERENCES_DOCUMENT}",
                    "",
                    profile,
                    source,
                )
            problems.append(problem)
            return [], False

    jobs = []
    if prefs.log_group:
        jobs.append(
            guarded("cloudwatch", "DescribeLogStreams", _list_streams(prefs, prefix, limit))
        )
    if prefs.s3_bucket:
        jobs.append(guarded("s3", "ListObjectsV2", _list_objects(prefs, prefix, limit)))
    results = await asyncio.gather(*jobs)
    refs = [ref for found, _ in results for ref in found]
    if search:
        refs = [ref for ref in refs if ref.matches(search)]
    ordered = _newest_first(refs)
    truncated = any(more for _, more in results) or len(ordered) > limit
    return TranscriptListing(
        profile,
        region,
        prefs,
        caller,
        tuple(ordered[:limit]),
        tuple(problems),
        truncated,
        everyone,
    )


async def find_transcripts(
    profile: str, region: str, session_id: str
) -> tuple[list[TranscriptRef], list[LogsProblem]]:
    """Both transcripts of one session (CloudWatch first), or the problems explaining why not."""
    try:
        prefs = await read_preferences(profile, region)
    except LogsError as exc:
        return [], [exc.problem]
    refs: list[TranscriptRef] = []
    problems: list[LogsProblem] = []

    async def stream() -> None:
        try:
            async with client("logs", profile, region) as logs:
                reply = await logs.describe_log_streams(
                    logGroupName=prefs.log_group, logStreamNamePrefix=session_id
                )
        except Exception as exc:  # noqa: BLE001
            problems.append(problem_for(exc, profile, region, "DescribeLogStreams", "cloudwatch"))
            return
        for item in reply.get("logStreams", []):
            if item["logStreamName"] == session_id:
                refs.append(
                    TranscriptRef(
                        "cloudwatch",
                        profile,
                        region,
                        session_id,
                        prefs.log_group,
                        session_id,
                        item.get("storedBytes"),
                        _when(item.get("firstEventTimestamp")),
                        _when(item.get("lastEventTimestamp") or item.get("creationTime")),
                    )
                )
                return
        problems.append(
            LogsProblem(
                LogsState.NOT_WRITTEN,
                f"no CloudWatch stream {session_id} in {prefs.log_group} yet",
                NOT_WRITTEN_HINT,
                "",
                profile,
                "cloudwatch",
            )
        )

    async def obj() -> None:
        key = prefs.s3_key(session_id)
        try:
            async with client("s3", profile, region) as s3:
                head = await s3.head_object(Bucket=prefs.s3_bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            problem = problem_for(exc, profile, region, "HeadObject", "s3")
            if problem.state is LogsState.NOT_WRITTEN:
                problem = LogsProblem(
                    LogsState.NOT_WRITTEN,
                    f"no S3 object s3://{prefs.s3_bucket}/{key} yet",
                    NOT_WRITTEN_HINT,
                    "",
                    profile,
                    "s3",
                )
            problems.append(problem)
            return
        refs.append(
            TranscriptRef(
                "s3",
                profile,
                region,
                session_id,
                prefs.s3_bucket,
                key,
                head.get("ContentLength"),
                None,
                _when(head.get("LastModified")),
            )
        )

    jobs = ([stream()] if prefs.log_group else []) + ([obj()] if prefs.s3_bucket else [])
    await asyncio.gather(*jobs)
    refs.sort(key=lambda r: r.source)  # cloudwatch before s3: it has times
    return refs, problems


# -- reading ------------------------------------------------------------------------------------


class TranscriptReader:
    """Reads one transcript page by page over one open client (see `open_transcript`)."""

    def __init__(self, ref: TranscriptRef, aws: Any) -> None:
        self.ref = ref
        self._aws = aws
        self._token: str | None = None
        self._offset = 0
        self._pages = 0
        self.total_size: int | None = ref.size if ref.source == "s3" else None
        self.exhausted = False
        """True when the last page reached the end (call again to poll a growing stream)."""

    async def next_page(self) -> TranscriptPage:
        """The next page; raises `LogsError` with a shown state on failure."""
        try:
            if self.ref.source == "s3":
                return await self._s3_page()
            return await self._cloudwatch_page()
        except LogsError:
            raise
        except Exception as exc:  # noqa: BLE001
            op = "GetObject" if self.ref.source == "s3" else "GetLogEvents"
            problem = problem_for(exc, self.ref.profile, self.ref.region, op, self.ref.source)
            raise LogsError(problem) from exc

    async def _cloudwatch_page(self) -> TranscriptPage:
        from ssm_tui.term.transcript import event_text

        kwargs: dict[str, Any] = {
            "logGroupName": self.ref.container,
            "logStreamName": self.ref.name,
            "startFromHead": True,
            "limit": FIRST_PAGE_EVENTS if self._pages == 0 else PAGE_EVENTS,
        }
        if self._token:
            kwargs["nextToken"] = self._token
        reply = await self._aws.get_log_events(**kwargs)
        self._pages += 1
        events = reply.get("events", [])
        token = reply.get("nextForwardToken")
        done = not events or token == self._token
        if token:
            self._token = token
        self.exhausted = done
        chunks = [(event_text(str(e.get("message", ""))), e["timestamp"] / 1000) for e in events]
        return TranscriptPage(chunks=chunks, done=done)

    async def _s3_page(self) -> TranscriptPage:
        if self.total_size is not None and self._offset >= self.total_size:
            self.exhausted = True
            return TranscriptPage(done=True, total_size=self.total_size)
        size = FIRST_PAGE_BYTES if self._pages == 0 else PAGE_BYTES
        reply = await self._aws.get_object(
            Bucket=self.ref.container,
            Key=self.ref.name,
            Range=f"bytes={self._offset}-{self._offset + size - 1}",
        )
        async with reply["Body"] as body:
            data = await body.read()
        self._pages += 1
        total = _total_from_range(reply.get("ContentRange"))
        if total is not None:
            self.total_size = total
        self._offset += len(data)
        done = not data or (self.total_size is not None and self._offset >= self.total_size)
        self.exhausted = done
        return TranscriptPage(raw=data, done=done, total_size=self.total_size)


def _total_from_range(value: Any) -> int | None:
    """`bytes 0-99/12345` → 12345."""
    if not value or "/" not in str(value):
        return None
    total = str(value).rsplit("/", 1)[-1]
    return int(total) if total.isdigit() else None


@asynccontextmanager
async def open_transcript(ref: TranscriptRef) -> AsyncIterator[TranscriptReader]:
    """A reader for one transcript, holding its client open while pages are read."""
    service = "s3" if ref.source == "s3" else "logs"
    try:
        async with client(service, ref.profile, ref.region) as aws:
            yield TranscriptReader(ref, aws)
    except LogsError:
        raise
    except (bce.BotoCoreError, bce.ClientError) as exc:
        op = "GetObject" if ref.source == "s3" else "GetLogEvents"
        raise LogsError(problem_for(exc, ref.profile, ref.region, op, ref.source)) from exc
