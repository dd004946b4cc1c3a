"""Choosing instances for `run`, `ssh`, `ssh-proxy` and `ssh-config`: the fleet, by name or filter.

The fleet is the inventory of the chosen profiles (default: every profile the app shows), in
each profile's regions. A TARGET is an instance id or an exact Name tag in any of them; a filter
is the fleet table's own language (`ssm_tui.filtering`: `tag:Role=web !status:offline ...`),
with its rule that only Online instances pass unless the filter names a status. The same node
seen through several profiles is kept once, as the profile a session should use
(`ssm_tui.nodes.choose`: not denied there, the preferred one, the last that worked, config order).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

from ssm_tui.aws.errors import SsmTuiError
from ssm_tui.aws.models import Instance, ScopeError
from ssm_tui.nodes import Reach, choose, merge, offline_reason


class Fleet(NamedTuple):
    instances: list[Instance]
    errors: list[ScopeError]


def load_fleet(profile_names: Sequence[str] | None, regions: Sequence[str] = ()) -> Fleet:
    """Every instance of the profiles (`select_profiles`: SsmTuiError for a bad config, an
    unknown profile, or none at all)."""
    from ssm_tui.aws.inventory import default_scopes
    from ssm_tui.aws.settings import load_settings
    from ssm_tui.services import select_profiles

    quiet_botocore()
    settings = load_settings()
    profiles = select_profiles(profile_names, settings)
    scopes = default_scopes(profiles, list(regions), settings)
    return asyncio.run(_collect(scopes, profiles))


async def _collect(scopes: list, profiles: list) -> Fleet:
    from ssm_tui.aws.accounts import cached_label, group_accounts
    from ssm_tui.aws.inventory import InventoryService

    labels = asyncio.create_task(group_accounts(profiles))
    results = [r async for r in InventoryService().stream(scopes)]
    try:
        await labels
    except Exception:  # noqa: BLE001 - labels are cosmetic
        pass
    order = {scope: n for n, scope in enumerate(scopes)}
    results.sort(key=lambda r: order.get(r.scope, 0))
    reach = _reach()
    instances: list[Instance] = []
    merged = merge(i for result in results for i in result.instances)
    for views in merged.values():
        chosen = choose(views, reach)
        label = cached_label(chosen.account_id) or chosen.account_label
        instances.append(dataclasses.replace(chosen, account_label=label))
    errors = [r.error for r in results if r.error is not None]
    return Fleet(instances, errors)


def _reach() -> Reach:
    """Denials and last-used profiles of the local record, preferences of the settings."""
    try:
        from ssm_tui.aws.settings import load_settings
        from ssm_tui.store import Store

        store = Store()
        preferred = dict(load_settings().preferred_profiles)
        return Reach(set(store.denials()), preferred, store.last_profiles())
    except Exception:  # noqa: BLE001 - the choice of profile is a convenience
        return Reach()


def quiet_botocore() -> None:
    """botocore logs retried failures with tracebacks; these commands report them themselves."""
    import logging

    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).addHandler(logging.NullHandler())


def managed(instance: Instance) -> bool:
    return bool(instance.ping_status)


def by_filter(instances: Sequence[Instance], text: str) -> list[Instance]:
    """The instances the fleet table would show for this filter text, best matches first."""
    from ssm_tui.filtering import filter_instances

    return filter_instances([i for i in instances if managed(i)], text)


class NotFound(SsmTuiError):
    """A TARGET that names no instance, or several."""


def by_target(instances: Sequence[Instance], target: str) -> list[Instance]:
    """Every managed instance whose id or Name tag is exactly `target` (ids win over names)."""
    hits = [i for i in instances if managed(i) and i.instance_id == target]
    if hits:
        return hits
    return [i for i in instances if managed(i) and i.name == target]


def one_target(instances: Sequence[Instance], target: str) -> Instance:
    """The one instance `target` names; an error saying which ones when none or several."""
    hits = by_target(instances, target)
    online = [i for i in hits if i.ping_status == "Online"]
    if len(online) == 1:
        return online[0]
    if not hits:
        raise NotFound(
            f"no managed instance is named {target!r}",
            "give an instance id or Name tag (`ssm-tui list` shows them)",
        )
    if not online:
        from datetime import UTC, datetime

        raise NotFound(
            offline_reason(hits[0], datetime.now(UTC))
            or f"{target!r} is not connected to Systems Manager",
            "`ssm-tui list --filter status:offline` lists the offline instances",
        )
    where = ", ".join(f"{i.instance_id} ({i.profile}, {i.region})" for i in online)
    raise NotFound(f"{len(online)} online instances are named {target!r}: {where}", "give the id")
