"""A failed connect stays on the fleet, even with other session tabs open (issue 15)."""

from __future__ import annotations

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.widgets.session_view import SessionView

from .conftest import SIZE, filter_to, main_screen, only_profile, open_session, wait_until


async def test_a_denied_connect_returns_to_the_fleet_not_to_another_session(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "prod-readonly")
        await filter_to(pilot, "platform:linux !tag:restricted=true")
        await open_session(pilot, 1)  # a working session in tab 1
        await pilot.press("ctrl+right_square_bracket", "escape")
        await wait_until(pilot, lambda: screen.tabs.active == "tab-fleet", "fleet tab")

        await filter_to(pilot, "tag:restricted=true")
        await pilot.press("enter")  # prod-readonly is denied StartSession here
        await wait_until(
            pilot, lambda: any(n.severity == "error" for n in app._notifications), "the error"
        )
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "failed tab gone")
        assert screen.tabs.active == "tab-fleet"
        assert screen.fleet.display
        assert app.focused is screen.fleet.table
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")
        await wait_until(pilot, lambda: not app.live_sessions, "quit ended the session")
