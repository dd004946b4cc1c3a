"""A pane says "connecting…" until the first byte; a port forward shows its real port (issue 15)."""

from __future__ import annotations

import asyncio
import re

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.services import Services
from ssm_tui.ui.widgets.session_view import SessionView
from ssm_tui.ui.widgets.terminal import TerminalPane

from .conftest import SIZE, filter_to, main_screen, only_profile, wait_until

SILENT_UNTIL_ENTER = ["sh", "-c", "stty -echo; read x; echo first-output; exec cat"]


def pane_lines(pane: TerminalPane) -> str:
    return "\n".join(pane.render_line(y).text for y in range(pane.size.height))


async def test_a_pane_says_connecting_until_the_first_byte() -> None:
    app = SsmTuiApp(Services(store=False, account_lookup=False))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = main_screen(app)
        pane = TerminalPane(SILENT_UNTIL_ENTER, waiting_note="connecting to i-0abc…")
        await screen.sessions_area().mount(pane)
        screen.show_area("sessions")
        pane.focus()
        await wait_until(pilot, lambda: pane.process is not None, "the process started")
        await pilot.pause(0.3)  # nothing comes out until a line is read
        assert pane.waiting
        assert "connecting to i-0abc…" in pane_lines(pane)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "first-output" in pane.screen_text(), "first output")
        assert not pane.waiting
        assert "connecting" not in pane_lines(pane)
        await pane.terminate()


async def test_session_title_connecting_then_connected(sandbox_env) -> None:
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        sandbox_env.set_faults(latency_ms=1500)
        try:
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.query(SessionView), "the tab")
            view = screen.query(SessionView).first()
            title = view.query_one(".session-title")
            assert view.state == "starting"
            assert "◌ connecting…" in str(title.render())
        finally:
            sandbox_env.reset_faults()
        await wait_until(pilot, lambda: view.pane is not None and "$" in view.pane.screen_text(),
                         "a prompt")  # fmt: skip
        await wait_until(pilot, lambda: "● connected" in str(title.render()), "connected")
        assert "connecting" not in str(title.render())
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running, "quit")


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_port_forward_tab_shows_the_real_local_port_and_keys_are_not_echoed(sandbox_env):
    server, remote = await _echo_server()
    app = SsmTuiApp()
    async with server, app.run_test(size=SIZE, notifications=True) as pilot:
        screen = main_screen(app)
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        await pilot.press("c")
        await pilot.pause(0.3)
        await pilot.click("#kind-port")
        await pilot.click("#remote-port")
        await pilot.press(*str(remote))  # local port left empty: 0, any free port
        await pilot.click("#connect")
        await wait_until(pilot, lambda: screen.query(SessionView), "a port tab")
        view = screen.query(SessionView).first()
        await wait_until(pilot, lambda: view.choice.local_port not in (0, None), "the real port")
        port = view.choice.local_port
        assert view.title.endswith(f"[port {port}→{remote}]")
        labels = [t.label.plain for t in screen.tabs.tabs]
        assert any(f"{port}→{remote}" in label for label in labels), labels
        assert not any("0→" in label.split("port ")[-1][:2] for label in labels), labels
        note = f"Port forwarding on port {port}→{remote}."
        # a notification is a message to the app: it lands a moment after the port is learnt
        await wait_until(pilot, lambda: note in [str(n.message) for n in app._notifications], note)

        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # it forwards
        writer.write(b"ping\n")
        assert await asyncio.wait_for(reader.readline(), 30) == b"ping\n"
        writer.close()

        assert app.focused is view.pane
        before = view.pane.screen_text()
        await pilot.press(*"zzq")  # a port forward reads no keys: nothing typed shows
        await pilot.pause(0.3)
        assert view.pane.screen_text() == before
        assert not re.search(r"z+q", view.pane.screen_text())
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: not screen.query(SessionView), "closed")
        await wait_until(pilot, lambda: not app.live_sessions, "session ended")


async def test_split_view_marks_the_pane_with_the_keyboard(sandbox_env):
    from .conftest import open_session

    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        await only_profile(pilot, "sandbox")
        await filter_to(pilot, "platform:linux")
        one = await open_session(pilot, 1)
        await pilot.press("ctrl+right_square_bracket", "alt+1", "down")
        two = await open_session(pilot, 2)
        await pilot.press("ctrl+right_square_bracket", "v")
        assert one.display and two.display and app.focused is two.pane

        def title_bg(view: SessionView) -> object:
            return view.query_one(".session-title").styles.background

        from textual.color import Color

        accent = Color.parse(app.get_css_variables()["accent"])
        await pilot.pause(0.1)
        assert title_bg(two) == accent and title_bg(one) != accent
        await pilot.press("ctrl+right_square_bracket", "ctrl+pageup")  # the other pane
        assert app.focused is one.pane
        await pilot.pause(0.1)
        assert title_bg(one) == accent and title_bg(two) != accent
        await pilot.press("ctrl+right_square_bracket", "ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running, "quit")
