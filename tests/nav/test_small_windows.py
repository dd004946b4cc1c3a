"""Small windows (issue 15): at 60×15 the `c` dialog's buttons are reachable."""

from __future__ import annotations

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.document import DocumentPicker
from ssm_tui.ui.widgets.session_view import SessionView

from .conftest import filter_to, main_screen, only_profile, wait_until


async def test_the_connect_dialog_buttons_are_reachable_at_60x15(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=(60, 15)) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, DocumentPicker), "the dialog")
        dialog = app.screen
        await pilot.click("#kind-port")  # the tallest form: two port fields
        await pilot.pause(0.2)
        box = dialog.query_one("#document")
        assert box.region.bottom <= 15 and box.region.y >= 0  # fits the window
        await pilot.press("tab", "tab", "tab")  # remote port, local port… to the buttons
        button = dialog.query_one("#connect")
        button.focus()
        await pilot.pause(0.2)
        assert 0 <= button.region.y and button.region.bottom <= 15, button.region
        await pilot.click("#remote-port")
        await pilot.press(*"22")
        await pilot.click("#connect")  # on screen: the click lands on it
        await wait_until(pilot, lambda: screen.query(SessionView), "a port tab")
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: not app.live_sessions, "ended")
