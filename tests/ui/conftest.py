"""Helpers for the app's Pilot tests: the real sandbox, a frozen clock, waiting on app state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from textual.pilot import Pilot

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.main import MainScreen
from ssm_tui.ui.services import Services
from ssm_tui.ui.widgets.fleet_view import FleetView

SANDBOX_ALIASES = {
    "111111111111": "acme-mgmt",
    "222222222222": "acme-prod",
    "333333333333": "acme-dev",
}
"""The seeded world's account aliases."""

WAIT = 30.0
"""Upper bound for anything the sandbox does (a guard against hanging, not a speed check)."""


async def wait_until(pilot: Pilot, condition: Callable[[], object], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        await pilot.pause(0.05)


def main_screen(app: SsmTuiApp) -> MainScreen:
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            return screen
    raise AssertionError("no main screen")


def fleet_of(app: SsmTuiApp) -> FleetView | None:
    for screen in app.screen_stack:
        views = screen.query(FleetView)
        if views:
            return views.first()
    return None


async def wait_for_fleet(pilot: Pilot) -> FleetView:
    """Until the profiles are read and the first refresh reported every scope."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: (f := fleet_of(app)) is not None and f.scopes and not f._refreshing,
        "the first inventory refresh",
    )
    fleet = fleet_of(app)
    assert fleet is not None
    return fleet


@pytest.fixture
def frozen_app(sandbox_env) -> Callable[..., SsmTuiApp]:  # noqa: ANN001
    """Builds apps whose clock stands 30 s after the sandbox world's "now" (stable ages).

    Account labels are what the services object's AWS context learnt (the picker, the history
    panel fill it); each app's context starts with the seeded aliases so every frame shows the
    same, and no other test's lookups can reach it.
    """
    from ssm_tui.aws import accounts
    from ssm_tui.aws.context import AwsContext, using

    now = sandbox_world_now(sandbox_env)

    def make(active_lookup: bool = False) -> SsmTuiApp:
        """`active_lookup`: ask AWS who is connected (off: other tests' sessions on the shared
        sandbox would change the frame)."""
        with using(AwsContext()) as context:
            for account_id, alias in SANDBOX_ALIASES.items():
                accounts.remember_alias(account_id, alias)
        return SsmTuiApp(
            Services(
                clock=lambda: now,
                account_lookup=False,
                context=context,
                active_lookup=active_lookup,
            )
        )

    return make


def sandbox_world_now(sandbox) -> datetime:  # noqa: ANN001
    """The sandbox seeds last-ping times from its start; ages are read 30 s after that."""
    started = sandbox.info.get("started_at") if isinstance(sandbox.info, dict) else None
    if started:
        base = datetime.fromisoformat(str(started))
    else:
        import os
        from datetime import UTC

        base = datetime.fromtimestamp(os.stat(sandbox.env_file).st_mtime, UTC)
    return base.replace(microsecond=0) + timedelta(seconds=30)
