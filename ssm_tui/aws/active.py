"""Who is connected now, from AWS: DescribeSessions State=Active, per profile and region.

The fleet asks this once per refresh (issues 15 and 17: "who else is connected" shows in the
instance's row, not only this machine's sessions). Each scope answers on its own: a scope whose
call is denied or throttled is an error in its result and never hides the others, nor any row.
Owners are people, named as `ssm_tui.aws.audit.owner_of` names them (the role session name, a
`botocore-session-…` id shown as such with a hint).

No Textual here; the services object runs these on the AWS loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ssm_tui.aws.audit import owner_of
from ssm_tui.aws.clients import RETRY_MODE, client
from ssm_tui.aws.errors import explain
from ssm_tui.aws.models import Scope, ScopeError

ATTEMPTS = 3
"""Attempts per DescribeSessions call, not the inventory's 8: the question comes back with every
refresh, and a throttled scope keeps its last answer until then (`ui.widgets.fleet_extras`)."""


class Connected(NamedTuple):
    """One Active session on a managed node, as DescribeSessions tells it."""

    person: str
    """Who: the role session name or IAM user (`owner_of`)."""
    session_id: str
    target: str
    start: datetime | None = None
    reason: str = ""
    hint: str = ""
    """Why the person is not a name (a session from another tool), else empty."""


class ActiveResult(NamedTuple):
    """One scope's Active sessions, or the error that says why AWS did not tell."""

    scope: Scope
    sessions: tuple[Connected, ...] = ()
    error: ScopeError | None = None


def connected(item: dict[str, Any]) -> Connected:
    """One DescribeSessions item as a `Connected` (botocore gives StartDate as a datetime)."""
    session_id, owner = str(item.get("SessionId", "")), str(item.get("Owner", ""))
    person, hint = owner_of(owner, session_id)
    start = item.get("StartDate")
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return Connected(
        person,
        session_id,
        str(item.get("Target", "")),
        start if isinstance(start, datetime) else None,
        str(item.get("Reason") or ""),
        hint,
    )


async def active_sessions(scope: Scope) -> ActiveResult:
    """The Active sessions one profile sees in one region (errors as the result's `error`)."""
    found: list[Connected] = []
    try:
        from aiobotocore.config import AioConfig

        config = AioConfig(retries={"mode": RETRY_MODE, "max_attempts": ATTEMPTS})
        async with client("ssm", scope.profile, scope.region, config=config) as ssm:
            paginator = ssm.get_paginator("describe_sessions")
            async for page in paginator.paginate(State="Active"):
                found.extend(connected(item) for item in page.get("Sessions", []))
    except Exception as exc:  # noqa: BLE001 - a scope AWS did not answer is shown as such
        return ActiveResult(scope, error=explain(exc, scope.profile, scope.region))
    return ActiveResult(scope, tuple(found))


async def active_in(scopes: Sequence[Scope]) -> list[ActiveResult]:
    """Every scope at once, one result each, in the order given."""
    return list(await asyncio.gather(*(active_sessions(scope) for scope in scopes)))
