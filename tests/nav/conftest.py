"""Helpers for the "moving around" tests (issue 15): open sessions on the sandbox's instances."""

from __future__ import annotations

from textual.pilot import Pilot

from ssm_tui.ui.widgets.session_view import SessionView
from tests.ui.conftest import frozen_app, main_screen, wait_for_fleet, wait_until  # noqa: F401

SIZE = (140, 40)


async def only_profile(pilot: Pilot, profile: str) -> None:
    """Show one profile (its favourite number key) and wait for its refresh."""
    fleet = await wait_for_fleet(pilot)
    screen = main_screen(pilot.app)
    await pilot.press(str([p.name for p in screen.profiles].index(profile) + 1))
    await wait_until(pilot, lambda: not fleet._refreshing, f"refresh of {profile}")


async def filter_to(pilot: Pilot, text: str) -> None:
    fleet = await wait_for_fleet(pilot)
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await wait_until(pilot, lambda: fleet.table.row_count >= 1, f"a row for {text}")


async def open_session(pilot: Pilot, count: int) -> SessionView:
    """Enter on the highlighted row; the `count`-th view, once its shell prompted."""
    screen = main_screen(pilot.app)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(screen.query(SessionView)) == count, f"tab {count}")
    view = list(screen.query(SessionView))[count - 1]
    await wait_until(
        pilot, lambda: view.pane is not None and "$" in view.pane.screen_text(), "a prompt"
    )
    return view
