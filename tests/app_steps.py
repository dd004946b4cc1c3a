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


async def highlight(pilot: Pilot, name: str, profile: str = "prod") -> Any:
    """Filter the fleet to `name` through `profile` and wait until its row has the cursor: the
    fleet view, for the action a test presses next."""
    fleet = await wait_for_fleet(pilot)
    await pilot.press("slash", *f"{name} profile:{profile}", "enter")
    await wait_until(
        pilot,
        lambda: fleet.table.cursor_row is not None and fleet.table.cursor_row.instance.name == name,
        f"{name} highlighted",
    )
    return fleet
