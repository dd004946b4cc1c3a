"""The real app with a terminal pane focused: its priority keys (ctrl+p, ctrl+q) go to the session.

A local program in a real pty stands in for the plugin (no AWS needed): `cat -v` prints every
control character it reads as `^X`, so the screen shows exactly which keys reached the session.
"""

from __future__ import annotations

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.services import Services
from ssm_tui.ui.widgets.terminal import RELEASE_KEY, TerminalPane

from .conftest import main_screen, wait_until

# -ixon: ctrl+q/ctrl+s are flow control otherwise, eaten by the line discipline before `cat`
CAT_V = ["sh", "-c", "stty -ixon; echo ready; exec cat -v"]


async def test_ctrl_p_and_ctrl_q_reach_the_session_and_ctrl_bracket_then_ctrl_q_quits() -> None:
    app = SsmTuiApp(Services(store=False, account_lookup=False))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = main_screen(app)
        pane = TerminalPane(CAT_V, id="local-pane")
        await screen.sessions_area().mount(pane)
        screen.show_area("sessions")
        pane.focus()
        await wait_until(pilot, lambda: "ready" in pane.screen_text(), "cat -v running")

        await pilot.press("ctrl+p", "ctrl+q", "x", "enter")
        await wait_until(pilot, lambda: "^P^Qx" in pane.screen_text(), "^P^Qx echoed by cat -v")
        assert app.is_running  # ctrl+q did not quit
        assert not app.screen_stack[-1].query("CommandPalette")  # nor ctrl+p open the palette
        footer_keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "release_focus" in footer_keys  # the footer says how out: ^] then ^q
        assert not app.check_action("quit", ())

        await pilot.press(RELEASE_KEY)  # the keyboard goes back to the app…
        assert not isinstance(app.focused, TerminalPane)
        assert app.check_action("quit", ())
        await pilot.press("ctrl+q")  # …where ctrl+q quits
        await wait_until(pilot, lambda: not app.is_running, "the app quit")
    assert app.return_code == 0
    assert pane.process is None or pane.exit_status is not None
