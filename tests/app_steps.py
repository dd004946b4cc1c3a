"""Steps of the app's Pilot tests that many tests take the same way."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.ui.conftest import main_screen, wait_for_fleet, wait_until


async def show_linux_instances(pilot: Pilot, profile: str = "sandbox") -> tuple[Any, Any]:
    """The fleet of one profile (its number key), filtered to Linux: (fleet view, main screen)."""
    fleet = await wait_for_fleet(pilot)
    screen = main_screen(pilot.app)
    await pilot.press(str([p.name for p in screen.profiles].index(profile) + 1))
    await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
    await pilot.press("slash", *"platform:linux", "enter")
    await wait_until(pilot, lambda: fleet.table.row_count >= 1, "a Linux instance")
    return fleet, screen
