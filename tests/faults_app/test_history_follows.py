"""The history panel follows the app's own sessions live (issue 13).

It used to keep a finished session as `Connected` until `r`. Here the real app on the sandbox
opens a shell, shows the history panel (`h`), and the shell's `exit` ends the session: the row
must leave the active state without a reload.
"""

from __future__ import annotations

import pytest

from ssm_tui.ui.app import SsmTuiApp
from tests.ui.conftest import wait_until
from tests.ui.test_app import SIZE, open_first_linux_session


@pytest.mark.slow
async def test_history_row_ends_with_the_session_without_reload(sandbox_env):  # noqa: ANN001
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        screen, view = await open_first_linux_session(pilot)
        session_id = view.started.session_id
        await pilot.press("ctrl+right_square_bracket")  # back to the app's keys
        await pilot.press("home")  # the fleet tab
        await pilot.press("h")
        panel = await _history_panel(pilot, screen)
        await wait_until(pilot, lambda: session_id in panel._sessions, "the session listed")
        await wait_until(pilot, lambda: panel._sessions[session_id].active, "listed as active")
        requests = panel._request
        view.pane.send(b"exit\r")
        await wait_until(pilot, lambda: view.state == "ended", "the shell ended")
        await wait_until(pilot, lambda: not panel._sessions[session_id].active, "row ended")
        assert panel._request == requests  # no reload was needed for it
        assert panel._sessions[session_id].end is not None
        await pilot.press("ctrl+q")


async def _history_panel(pilot, screen):  # noqa: ANN001, ANN202
    await wait_until(pilot, lambda: screen.query("HistoryPanel"), "history panel shown")
    return screen.query_one("HistoryPanel")
