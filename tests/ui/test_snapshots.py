"""One SVG snapshot per screen state: fleet, filter, picker, help, error notification.

Frames are stable: the sandbox world is seeded, the app's clock stands 30 s after the sandbox
world's "now" (last-ping ages are coarse buckets), cursor blink is off, and every snapshot waits
for the refresh (and the picker's account lookup) to finish. Update with `--snapshot-update`.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from ssm_tui.ui.screens.picker import ScopePicker

from .conftest import main_screen, wait_for_fleet, wait_until

SIZE = (140, 40)


async def settle(pilot: Pilot) -> None:
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause(0.2)


def test_fleet(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


@pytest.mark.slow
def test_filter(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("a", "slash", *"tag:env=prod")
        await wait_until(pilot, lambda: fleet.model.query.text == "tag:env=prod", "filter")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_profile_picker(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ScopePicker), "picker")
        picker = pilot.app.screen
        await wait_until(pilot, lambda: picker.accounts, "accounts")
        await pilot.press(*"prod")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


@pytest.mark.slow
def test_error_notification(snap_compare, frozen_app):  # noqa: ANN001
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        fleet = await wait_for_fleet(pilot)
        screen = main_screen(app)  # type: ignore[arg-type]
        await pilot.press(str([p.name for p in screen.profiles].index("prod-readonly") + 1))
        await wait_until(pilot, lambda: not fleet._refreshing, "refresh")
        app.clear_notifications()  # only the error in frame
        await pilot.press("slash", *"db-primary", "enter", "enter")
        await wait_until(pilot, lambda: any(app._notifications), "notification")
        await wait_until(pilot, lambda: screen.tabs.active == "tab-fleet", "back on the fleet")
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_instance_detail(snap_compare, frozen_app):  # noqa: ANN001
    """Issue 15: `d` beside the fleet, on a node two profiles reach."""

    async def run_before(pilot: Pilot) -> None:
        fleet = await wait_for_fleet(pilot)
        await pilot.press("slash", *"=db-primary", "enter", "d")
        await wait_until(pilot, lambda: pilot.app.screen.query("#instance-detail-body"), "panel")
        assert fleet.table.cursor_row is not None
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_profile_choice(snap_compare, frozen_app):  # noqa: ANN001
    """Issue 15: `c` on a node two profiles reach asks which one, best first."""

    async def run_before(pilot: Pilot) -> None:
        await wait_for_fleet(pilot)
        await pilot.press("slash", *"=web-1", "enter", "c")
        await wait_until(
            pilot, lambda: type(pilot.app.screen).__name__ == "ProfileChoice", "the dialog"
        )
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)
