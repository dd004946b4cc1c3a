"""Session history: who connected where and when, from AWS and from ssm-tui's own record.

AWS keeps sessions in `DescribeSessions` (Active and History, ~30 days); ssm-tui keeps a local
record in SQLite of every session it started (exit status, which plugin ran it, the profile used).
`fetch_history` asks every scope concurrently, merges both by session id, and never lets one
failing profile hide the others: a failure becomes a `ScopeError` next to the rows that did load.

Callers: the services object (for the history panel), `who_else` and `ssm-tui history`. The
records (`SessionSummary`, `HistoryResult`) and `others_connected` are in `aws.models`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ssm_tui.aws.clients import client
from ssm_tui.aws.errors import explain
from ssm_tui.aws.models import Scope, ScopeError
from ssm_tui.aws.models.history import HistoryResult, SessionSummary, others_connected

DEFAULT_CONCURRENCY = 8
"""Scopes asked at once (each makes a few paged DescribeSessions calls)."""


class LocalRecord(Protocol):
    """What history needs of `ssm_tui.store.Store` (kept narrow: tests can pass a real Store)."""

    def local_sessions(self, target: str | None = None, limit: int = 500) -> list[Any]: ...


def _aware(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        return _aware(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def from_aws(item: dict[str, Any], scope: Scope, account_id: str) -> SessionSummary:
    """A DescribeSessions entry as a row."""
    output = item.get("OutputUrl") or {}
    return SessionSummary(
        session_id=str(item.get("SessionId", "")),
        target=str(item.get("Target", "")),
        status=str(item.get("Status", "")),
        owner=str(item.get("Owner", "")),
        start=_aware(item.get("StartDate")),
        end=_aware(item.get("EndDate")),
        reason=str(item.get("Reason") or ""),
        document=str(item.get("DocumentName") or ""),
        profile=scope.profile,
        account_id=account_id,
        region=scope.region,
        s3_output=str(output.get("S3OutputUrl") or ""),
        cloudwatch_output=str(output.get("CloudWatchOutputUrl") or ""),
        source="aws",
    )


def from_local(record: Any) -> SessionSummary:
    """A local-record entry (`store.LocalSession`) as a row; tolerant of missing fields."""

    def field(*names: str, default: Any = None) -> Any:
        for name in names:
            value = getattr(record, name, None)
            if value is not None:
                return value
        return default

    end = _aware(field("end", "ended_at", "end_date", "ended"))
    # without an end and unknown to AWS, a local row may be a session the app lost track of
    # (crash, kill): not claimed as active; AWS's status replaces this when it knows the id
    status = field("status", default=None) or ("Terminated" if end else "Unknown")
    exit_status = field("exit_status")
    return SessionSummary(
        session_id=str(field("session_id", default="")),
        target=str(field("target", default="")),
        status=str(status),
        owner=str(field("owner", default="")),
        start=_aware(field("start", "started_at", "start_date", "started")),
        end=end,
        reason=str(field("reason", default="")),
        document=str(field("document_name", "document", default="")),
        profile=str(field("profile", default="")),
        account_id=str(field("account_id", default="")),
        region=str(field("region", default="")),
        source="local",
        exit_status=int(exit_status) if exit_status is not None else None,
        plugin=str(field("plugin", default="")),
        run_as=str(field("run_as", default="")),
        run_as_source=str(field("run_as_source", default="")),
    )


def merge(aws: Iterable[SessionSummary], local: Iterable[SessionSummary]) -> list[SessionSummary]:
    """Join AWS rows and local rows by session id, newest first.

    AWS is the authority on status/owner/times; the local record adds exit status, plugin and
    the profile it was started with. Local rows AWS does not know (expired from its 30 days, or
    another account's) stay, marked 'local'.
    """
    by_id: dict[str, SessionSummary] = {}
    for row in aws:
        by_id[row.session_id] = row
    for row in local:
        known = by_id.get(row.session_id)
        if known is None:
            by_id[row.session_id] = row
            continue
        by_id[row.session_id] = known._replace(
            source="both",
            exit_status=row.exit_status,
            plugin=row.plugin or known.plugin,
            run_as=row.run_as or known.run_as,
            run_as_source=row.run_as_source if row.run_as else known.run_as_source,
            # the record knows which profile started it (prod-readonly, not the prod that also
            # sees the account's sessions)
            profile=row.profile or known.profile,
            account_id=known.account_id or row.account_id,
            end=known.end or (row.end if not known.active else None),
        )
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(by_id.values(), key=lambda r: (r.start or floor, r.session_id), reverse=True)


async def _scope_sessions(
    scope: Scope, target: str | None, states: Sequence[str], page_size: int | None = None
) -> tuple[list[SessionSummary], str, str]:
    """Every page of DescribeSessions for each state, plus the scope's account id and caller."""
    filters = [{"key": "Target", "value": target}] if target else []
    rows: list[SessionSummary] = []
    async with client("sts", scope.profile, scope.region) as sts:
        identity = await sts.get_caller_identity()
    account_id = str(identity.get("Account", ""))
    async with client("ssm", scope.profile, scope.region) as ssm:
        paginator = ssm.get_paginator("describe_sessions")
        for state in states:
            kwargs: dict[str, Any] = {"State": state}
            if filters:
                kwargs["Filters"] = filters
            if page_size:
                kwargs["PaginationConfig"] = {"PageSize": page_size}
            async for page in paginator.paginate(**kwargs):
                rows.extend(from_aws(item, scope, account_id) for item in page.get("Sessions", []))
    return rows, account_id, str(identity.get("Arn", ""))


async def fetch_history(
    scopes: Sequence[Scope],
    *,
    target: str | None = None,
    store: LocalRecord | None = None,
    states: Sequence[str] = ("Active", "History"),
    concurrency: int = DEFAULT_CONCURRENCY,
    local_limit: int = 500,
    page_size: int | None = None,
    run_as: bool = False,
) -> HistoryResult:
    """Sessions of all `scopes` (all pages, concurrently) merged with the local record.

    A scope that fails yields a `ScopeError` and the rest still load. The same session seen
    through two profiles of one account appears once. `run_as`: also read the Run As user of
    sessions from elsewhere from the agent's streamed transcripts (`aws/run_as.py`).
    """
    gate = asyncio.Semaphore(max(1, concurrency))
    errors: list[ScopeError] = []
    callers: list[tuple[str, str]] = []

    async def one(scope: Scope) -> list[SessionSummary]:
        async with gate:
            try:
                rows, _, arn = await _scope_sessions(scope, target, states, page_size)
            except Exception as exc:  # noqa: BLE001 - one failing profile never hides others
                errors.append(explain(exc, scope.profile, scope.region))
                return []
        callers.append((scope.profile, arn))
        return rows

    results = await asyncio.gather(*(one(scope) for scope in scopes))
    aws_rows: dict[str, SessionSummary] = {}
    roles = _role_names()
    for rows in results:
        for row in rows:
            seen = aws_rows.get(row.session_id)
            if seen is None or (
                not _started_by(seen, roles) and _started_by(row, roles)
            ):  # two profiles of one account: the one whose role started it
                aws_rows[row.session_id] = row
    local_rows: list[SessionSummary] = []
    if store is not None:
        try:
            records = await asyncio.to_thread(store.local_sessions, target, local_limit)
        except Exception as exc:  # noqa: BLE001 - a broken local file must not hide AWS rows
            errors.append(ScopeError("(local record)", None, f"cannot read local record: {exc}"))
        else:
            local_rows = [from_local(r) for r in records]
            if target:
                local_rows = [r for r in local_rows if r.target == target]
    merged = merge(aws_rows.values(), local_rows)
    if run_as:
        from ssm_tui.aws.run_as import with_streamed_run_as

        merged = await with_streamed_run_as(merged)
    errors.sort(key=lambda e: (e.profile, e.region or ""))
    return HistoryResult(tuple(merged), tuple(errors), tuple(sorted(callers)))


def _role_names() -> dict[str, str]:
    """Profile -> the IAM role its sessions are owned by (`assumed-role/<role>/...`)."""
    from ssm_tui.aws.profiles import load_profiles

    try:
        found = load_profiles(include_discovered=True)
    except Exception:  # noqa: BLE001 - attribution is best effort
        return {}
    names = {}
    for p in found:
        if p.role_arn:
            names[p.name] = p.role_arn.rsplit("/", 1)[-1]
        elif p.sso_role_name:
            names[p.name] = f"AWSReservedSSO_{p.sso_role_name}_"
    return names


def _started_by(row: SessionSummary, roles: dict[str, str]) -> bool:
    """Does the session's owner ARN carry the role of the row's profile?"""
    role = roles.get(row.profile)
    if not role or ":assumed-role/" not in row.owner:
        return False
    owner_role = row.owner.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return owner_role.startswith(role) if role.endswith("_") else owner_role == role


async def who_else(scopes: Sequence[Scope], instance_id: str) -> list[SessionSummary]:
    """Others' active sessions on one instance right now, asked of AWS (errors: nothing shown)."""
    result = await fetch_history(scopes, target=instance_id, states=("Active",))
    return others_connected(result.sessions, instance_id, [arn for _, arn in result.callers])


async def session_state(profile: str, region: str, session_id: str) -> str | None:
    """'Active' or 'History' for one session id, None when AWS does not know it (any more)."""
    filters = [{"key": "SessionId", "value": session_id}]
    async with client("ssm", profile, region) as ssm:
        for state in ("Active", "History"):
            reply = await ssm.describe_sessions(State=state, Filters=filters)
            if reply.get("Sessions"):
                return state
    return None
