"""One managed node reached through several profiles, and which profile to connect with.

`prod` and `prod-readonly` (or 3-4 SSO roles) all list the same machines of one account; the
fleet, the palette, `ssm-tui list` and `connect` show each (account, region, instance) once and
remember every profile that reaches it. Which one a session uses (`choose`): first one that
AWS has not denied StartSession on this instance (and that sees it Online: listings of two
profiles a refresh apart can disagree), then the account's preferred profile (the
`preferred_profiles` setting), then the one that last worked on it, then config order.

Plain data, no Textual or botocore: the fleet's first frame and the CLIs use it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from ssm_tui.aws.models import Instance


class Reach(NamedTuple):
    """What decides the profile of a node's session (all optional)."""

    denied: Collection[tuple[str, str]] = frozenset()
    """(profile, instance id) pairs AWS answered AccessDenied to on StartSession."""
    preferred: Mapping[str, str] = {}
    """Account id or alias -> the profile to use for it (settings)."""
    last_ok: Mapping[str, str] = {}
    """Instance id -> the profile of its last session that started."""


NO_REACH = Reach()


def merge(instances: Iterable[Instance]) -> dict[str, list[Instance]]:
    """Instances grouped by node (`Instance.node`), each group in the order it was seen."""
    nodes: dict[str, list[Instance]] = {}
    for instance in instances:
        views = nodes.setdefault(instance.node, [])
        if all(v.profile != instance.profile for v in views):
            views.append(instance)
    return nodes


def is_denied(reach: Reach, instance: Instance) -> bool:
    return (instance.profile, instance.instance_id) in reach.denied


def ranked(
    views: Sequence[Instance], reach: Reach = NO_REACH, allowed: Collection[str] | None = None
) -> list[Instance]:
    """The views of one node, best profile first (`allowed`: only those profiles, if any)."""
    if allowed is not None:
        views = [v for v in views if v.profile in allowed] or list(views)
    preferred = reach.preferred

    def key(pair: tuple[int, Instance]) -> tuple[bool, bool, bool, bool, int]:
        n, view = pair
        wanted = preferred.get(view.account_id) or preferred.get(view.account_label)
        return (
            is_denied(reach, view),
            view.ping_status != "Online",  # a fresher listing that sees it online wins
            wanted != view.profile,
            reach.last_ok.get(view.instance_id) != view.profile,
            n,
        )

    return [view for _, view in sorted(enumerate(views), key=key)]


def choose(
    views: Sequence[Instance], reach: Reach = NO_REACH, allowed: Collection[str] | None = None
) -> Instance:
    """The view (profile) a session on this node starts with."""
    return ranked(views, reach, allowed)[0]


def others_to_try(views: Sequence[Instance], reach: Reach, failed: str) -> list[str]:
    """Profiles reaching the node that were not denied on it, besides `failed`."""
    return [
        v.profile for v in ranked(views, reach) if v.profile != failed and not is_denied(reach, v)
    ]


def denied_hint(views: Sequence[Instance], reach: Reach, failed: str) -> str:
    """The next step after an AccessDenied: which other profile can try, or that none can."""
    others = others_to_try(views, reach, failed)
    if others:
        more = f" (or {', '.join(others[1:])})" if others[1:] else ""
        return f"profile {others[0]} also reaches this instance{more}: press Enter to try it, or c"
    return "no other profile reaches this instance; ask for ssm:StartSession on it"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 1)} min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def offline_reason(instance: Instance, now: datetime) -> str | None:
    """Why no session can start on an instance that is not Online (None: it is online).

    StartSession on it could only fail (TargetNotConnected), so the fleet and `connect` say
    this instead: since when the agent is silent, or that it never connected.
    """
    status = instance.ping_status
    if status == "Online":
        return None
    if instance.last_ping is None:
        when = "its agent has never connected to Systems Manager"
    else:
        age = _age((now - instance.last_ping).total_seconds())
        stamp = instance.last_ping.strftime("%Y-%m-%d %H:%M %Z").strip()
        when = f"its agent last pinged {age} ago ({stamp})"
    what = {
        "ConnectionLost": "lost its connection to Systems Manager",
        "Inactive": "is not reachable by Systems Manager (Inactive)",
    }.get(status, f"is {status or 'not managed by Systems Manager'}")
    state = f"; EC2 says {instance.instance_state}" if instance.instance_state else ""
    return (
        f"{instance.name} ({instance.instance_id}) {what}: {when}{state}. "
        "A session can start once its agent is back online."
    )
