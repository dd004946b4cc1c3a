"""Snapshots of the moving-around screens (issue 15): the ctrl+q question over the fleet.

Stable frames as in tests/ui/test_snapshots.py: the seeded sandbox, a frozen clock.
"""

from __future__ import annotations

from textual.pilot import Pilot

from ssm_tui.ui.app import end_leftovers
from ssm_tui.ui.screens.confirm import ConfirmScreen
from tests.ui.test_snapshots import settle

from .conftest import SIZE, filter_to, only_profile, open_session, wait_until


def test_quit_question_over_the_fleet_with_a_live_session(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "name:bastion")
        await open_session(pilot, 1)
        await pilot.press("ctrl+right_square_bracket", "alt+1", "ctrl+q")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "question")
        await settle(pilot)

    app = frozen_app()
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        end_leftovers(app)  # the app ended without ctrl+q: end its session like the CLI does
        assert not app.live_sessions
