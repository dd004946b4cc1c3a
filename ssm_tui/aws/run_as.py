"""Which OS user a past session ran as (Run As), from a source that knows it, never a guess.

DescribeSessions does not carry it, and neither does CloudTrail's StartSession event: botocore's
cloudtrail model gives the event only as a JSON string (`CloudTrailEvent`), and the event
Session Manager writes has `requestParameters` target, documentName, parameters and reason, and a
`userIdentity` without the principal's tags (the sandbox's `sandbox/cloudtrail.py` keeps that
shape). What does know it:

- **recorded** (`preferences`, `tag`, `default`): sessions started on this machine. The local
  record (`store.py`) keeps the user the Run As preview read at the start: the Session Manager
  preferences' `runAsEnabled` / `runAsDefaultUser` and the principal's `SSMSessionRunAs` tag
  (`aws.audit.run_as`).
- **stream**: sessions whose transcript the agent streamed to CloudWatch Logs
  (`cloudWatchStreamingEnabled`). Every streamed event is a JSON object with `runAsUser`, the
  user the agent started the shell as (agent: `session/shell/shell_unix.go` sets it from the pty's
  user; `cloudwatchlogsservice.go` writes it), so the first event of the session's stream says it.

Everything else shows "—": the preferences in force now say only what a session *would* run as
today (which version was the default at a past start is not recorded: UpdateDocumentDefaultVersion
keeps no date), and a transcript uploaded at the end is plain terminal text, whose prompt may show
any user name the shell was told to print.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from ssm_tui.aws.clients import client

Row = TypeVar("Row", bound=Any)
"""An `aws.history.SessionSummary` (not imported: history uses this module)."""

STREAM_READS = 200
"""At most this many streams are read per history (one GetLogEvents each)."""
CONCURRENCY = 8


def user_of_event(message: str) -> str:
    """The `runAsUser` of one streamed transcript event ("" for a plain-text transcript)."""
    try:
        data = json.loads(message)
    except ValueError:
        return ""
    user = data.get("runAsUser") if isinstance(data, dict) else None
    return user if isinstance(user, str) else ""


async def _log_groups(scopes: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(profile, region) -> the preferences' log group, for scopes whose preferences are read."""
    from ssm_tui.aws.logs import read_preferences

    async def one(scope: tuple[str, str]) -> tuple[tuple[str, str], str]:
        try:
            return scope, (await read_preferences(*scope)).log_group
        except Exception:  # noqa: BLE001 - unreadable: those rows stay "—"
            return scope, ""

    return dict(await asyncio.gather(*(one(s) for s in scopes)))


async def _streamed_user(profile: str, region: str, group: str, session_id: str) -> str:
    """The first event of the session's stream (named after the session, as the agent names it)."""
    try:
        async with client("logs", profile, region) as logs:
            reply = await logs.get_log_events(
                logGroupName=group, logStreamName=session_id, startFromHead=True, limit=1
            )
    except Exception:  # noqa: BLE001 - no stream (not logged, not yet written): unknown
        return ""
    events: list[dict[str, Any]] = reply.get("events") or []
    return user_of_event(str(events[0].get("message", ""))) if events else ""


async def with_streamed_run_as(rows: Sequence[Row]) -> list[Row]:
    """`rows` with `run_as` filled in from streamed transcripts where the record did not say.

    Only rows AWS says were logged to CloudWatch are read, newest first, at most STREAM_READS.
    """
    wanted = [r for r in rows if not r.run_as and r.cloudwatch_output and r.profile][:STREAM_READS]
    if not wanted:
        return list(rows)
    groups = await _log_groups({(r.profile, r.region) for r in wanted})
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(row: Any) -> tuple[str, str]:
        group = groups.get((row.profile, row.region), "")
        if not group:
            return row.session_id, ""
        async with gate:
            return row.session_id, await _streamed_user(
                row.profile, row.region, group, row.session_id
            )

    found = {sid: user for sid, user in await asyncio.gather(*(one(r) for r in wanted)) if user}
    return [
        r._replace(run_as=found[r.session_id], run_as_source="stream")
        if r.session_id in found
        else r
        for r in rows
    ]


SHELL_DOCUMENT = "SSM-SessionManagerRunShell"


async def record_run_as(store: Any, started: Any) -> None:
    """Read the Run As user of a shell session the app started and write it to the record.

    Read on the AWS loop right after StartSession (the app does not hold the start for it), from
    the same preferences and principal tag the agent is given. Port and other sessions run no
    shell as a user: nothing is written for them. Never raises.
    """
    from ssm_tui.aws.audit import run_as

    if started.document_name not in (None, "", SHELL_DOCUMENT):
        return
    try:
        found = await run_as(started.profile, started.region)
        if found.source == "unknown" or not found.user:
            return
        await asyncio.to_thread(store.record_run_as, started.session_id, found.user, found.source)
    except Exception:  # noqa: BLE001 - history is a convenience: the session matters
        return
