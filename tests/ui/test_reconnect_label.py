"""The pane label follows the builtin client through a dropped data channel and back.

Real parts only: the app, the sandbox process, StartSession, our plugin in a pty, and the
sandbox's data-channel outage fault, which cuts the session's websocket and refuses new ones for
a few seconds. The plugin tells the app on its status pipe (`ssm_tui/plugin/status.py`); nothing
of it is written into the pane.
"""

from __future__ import annotations

from ssm_tui.ui.app import SsmTuiApp

from .conftest import wait_until
from .test_app import SIZE, open_first_linux_session

OUTAGE = 4.0


def label(view) -> str:  # noqa: ANN001
    return view.query_one(".session-title").render().plain


async def test_label_shows_reconnecting_during_a_drop_then_connected(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        _screen, view = await open_first_linux_session(pilot)
        assert view.plugin == "builtin"
        assert "● connected" in label(view)
        before = view.pane.screen_text()
        sandbox_env.set_faults(data_channel_outage=OUTAGE)  # the socket drops now
        try:
            await wait_until(pilot, lambda: view.state == "reconnecting", "reconnecting label")
            assert "◌ reconnecting…" in label(view)
            assert "● connected" not in label(view)
        finally:
            sandbox_env.reset_faults()
        await wait_until(pilot, lambda: view.state == "connected", "connected label again")
        assert "● connected" in label(view)
        assert "reconnect" not in view.pane.screen_text()  # the pane's screen is the session's
        assert view.pane.screen_text().strip() == before.strip()
        view.pane.send(b"echo back-$((20+22))\r")  # and the session carries on
        await wait_until(pilot, lambda: "back-42" in view.pane.screen_text(), "the echo")
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")  # a live session: confirm
    assert not app.live_sessions
