"""Which profile a session on a fleet row uses, and what an AccessDenied or an offline row says.

The fleet shows one row per node (`ssm_tui.nodes`); this module keeps the row's choice of
profile in step with what happened: a StartSession denied to a profile on an instance is
remembered (`Store.record_denial`), the row then picks another profile, and the error names the
profile that can try; a session that starts makes its profile the last one that worked. Enter on
an offline row explains instead of calling StartSession (it could only fail).
"""

from __future__ import annotations

from typing import Any

from ssm_tui.aws.models import Instance, ScopeError
from ssm_tui.nodes import Reach, denied_hint, offline_reason

__all__ = ["after_denial", "after_start", "offline_reason", "read_reach"]

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def read_reach(services: Any) -> Reach:
    """Denials and last-used profiles from the local record, preferences from the settings."""
    preferred = dict(getattr(services.get_settings(), "preferred_profiles", {}) or {})
    store = services.get_store()
    if store is None:
        return Reach(preferred=preferred)
    try:
        return Reach(set(store.denials()), preferred, store.last_profiles())
    except Exception:  # noqa: BLE001 - choosing a profile is a convenience, never a failure
        return Reach(preferred=preferred)


def is_denial(error: ScopeError) -> bool:
    return error.code in DENIED_CODES or "AccessDenied" in error.message


def after_denial(services: Any, model: Any, instance: Instance, error: ScopeError) -> ScopeError:
    """Remember an AccessDenied on StartSession; the error, naming who else can try."""
    if not is_denial(error):
        return error
    store = services.get_store()
    if store is not None:
        store.record_denial(instance.profile, instance.instance_id, error.message)
    reach = model.reach
    denied = {*reach.denied, (instance.profile, instance.instance_id)}
    reach = reach._replace(denied=denied)
    model.set_reach(reach)
    row = model.row_for(instance)
    views = row.views if row is not None else (instance,)
    hint = denied_hint(views, reach, instance.profile)
    message = f"profile {instance.profile} may not start a session on {instance.instance_id}"
    return error._replace(message=f"{message}: {error.message}", hint=hint)


def after_start(services: Any, model: Any, instance: Instance) -> bool:
    """A session started: clear a stale denial, remember the profile; whether rows changed."""
    reach = model.reach
    key = (instance.profile, instance.instance_id)
    was_denied = key in reach.denied
    if was_denied and (store := services.get_store()) is not None:
        store.clear_denial(*key)
    last_ok = {**reach.last_ok, instance.instance_id: instance.profile}
    denied = {pair for pair in reach.denied if pair != key}
    return bool(model.set_reach(reach._replace(denied=denied, last_ok=last_ok)))
