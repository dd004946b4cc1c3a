"""TerminalPane in a small App, running a real bash in a real pty (Pilot)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events, on
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer, Input

from ssm_tui.ui.widgets.terminal import RELEASE_KEY, TerminalPane

SHELL = ["bash", "--noprofile", "--norc"]


class PaneApp(App[None]):
    def __init__(self, argv: list[str] | None = None, backend: str | None = None) -> None:
        super().__init__()
        self.argv = argv or SHELL
        self.backend = backend
        self.exited: list[int] = []
        self.titles: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(id="other")
        env = {"PS1": "$ ", "HISTFILE": "/dev/null"}
        yield TerminalPane(self.argv, env, id="term", backend=self.backend)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TerminalPane).focus()

    @on(TerminalPane.Exited)
    def record_exit(self, message: TerminalPane.Exited) -> None:
        self.exited.append(message.exit_status)

    @on(TerminalPane.TitleChanged)
    def record_title(self, message: TerminalPane.TitleChanged) -> None:
        self.titles.append(message.title)


async def wait_for(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15) -> None:
    """Let the app run until ``predicate()`` holds (fails the test after ``timeout``)."""

    async def loop() -> None:
        while not predicate():
            await pilot.pause(0.02)

    await asyncio.wait_for(loop(), timeout)


def children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


def lines(pane: TerminalPane) -> list[str]:
    return pane.screen_text().splitlines()


def cursor_line(pane: TerminalPane) -> str:
    return lines(pane)[pane.emulator.cursor.y]


async def type_line(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text, "enter")


async def ready(pilot: Pilot[None]) -> TerminalPane:
    pane = pilot.app.query_one(TerminalPane)
    await wait_for(pilot, lambda: pane.screen_text().rstrip().endswith("$"))
    return pane


@pytest.mark.parametrize("backend", ["avt", "pyte"])
async def test_echo_hi_shows_hi_and_is_rendered(backend: str) -> None:
    app = PaneApp(backend=backend)
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "echo hi")
        await wait_for(pilot, lambda: "hi" in lines(pane))
        y = lines(pane).index("hi")
        assert pane.render_line(y).text.rstrip() == "hi"
        assert pane.emulator.backend == backend


async def test_pty_has_the_pane_size_from_the_start_and_follows_resizes() -> None:
    app = PaneApp()
    async with app.run_test(size=(70, 16)) as pilot:
        pane = await ready(pilot)
        width, height = pane.content_size
        assert pane.process is not None
        assert (pane.process.cols, pane.process.rows) == (width, height)
        await type_line(pilot, "stty size")
        await wait_for(pilot, lambda: f"{height} {width}" in lines(pane))
        await pilot.resize_terminal(90, 20)
        await wait_for(pilot, lambda: pane.content_size.width == 90)
        width, height = pane.content_size
        await type_line(pilot, "clear; stty size")
        await wait_for(pilot, lambda: f"{height} {width}" in lines(pane))
        assert (pane.emulator.cols, pane.emulator.rows) == (width, height)


async def test_ctrl_c_reaches_the_foreground_process_not_the_app() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        assert pane.process is not None and pane.process.pid is not None
        await type_line(pilot, "sleep 100")
        await wait_for(pilot, lambda: children(pane.process.pid) != [])  # type: ignore[union-attr]
        sleeper = children(pane.process.pid)[0]
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: "^C" in pane.screen_text())
        await wait_for(pilot, lambda: not os.path.exists(f"/proc/{sleeper}"))
        await type_line(pilot, "echo status=$?")
        await wait_for(pilot, lambda: "status=130" in lines(pane))  # 128 + SIGINT
        assert app.is_running and pane.has_focus


async def test_tab_and_escape_go_to_the_shell_and_ctrl_bracket_leaves() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await pilot.press(*"ech", "tab")  # bash completes the command name
        await wait_for(pilot, lambda: cursor_line(pane).startswith("$ echo"))
        await pilot.press("escape")
        assert pane.has_focus
        await pilot.press(*" tabbed", "enter")
        await wait_for(pilot, lambda: "tabbed" in lines(pane))
        await pilot.press(RELEASE_KEY)
        assert not pane.has_focus
        assert isinstance(app.focused, Input)


async def test_escape_chord_is_a_footer_binding_while_the_pane_has_focus() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        active = app.screen.active_bindings[RELEASE_KEY]
        assert active.node is pane and active.binding.show and active.binding.priority
        assert active.binding.description == "Leave terminal (then ^q quits)"


async def test_colours_render_as_styles() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(
            pilot,
            r"clear; printf '\e[31mred\e[0m \e[38;5;208morange\e[0m \e[1;38;2;1;2;3mtc\e[0m\n'",
        )
        await wait_for(pilot, lambda: "red orange tc" in lines(pane))
        y = lines(pane).index("red orange tc")
        segments = {s.text.strip(): s.style for s in pane.render_line(y) if s.text.strip()}
        assert segments["red"].color.name == "color(1)"
        assert segments["orange"].color.name == "color(208)"
        assert segments["tc"].color.triplet == (1, 2, 3) and segments["tc"].bold


@pytest.mark.parametrize("backend", ["avt", "pyte"])
async def test_alternate_screen_enter_and_leave(backend: str) -> None:
    app = PaneApp(backend=backend)
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "echo main screen")
        await type_line(
            pilot, r"printf '\e[?1049h\e[H\e[2Jfull screen'; read x; printf '\e[?1049l'"
        )
        await wait_for(pilot, lambda: pane.emulator.alternate_screen)
        await wait_for(pilot, lambda: lines(pane)[:1] == ["full screen"])
        assert "main screen" not in pane.screen_text()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not pane.emulator.alternate_screen)
        await wait_for(pilot, lambda: "main screen" in lines(pane))


PASTE_PROBE = (
    "import os, sys, tty\n"
    "if sys.argv[1] == 'on': sys.stdout.write('\\x1b[?2004h')\n"
    "print('READY', flush=True)\n"
    "tty.setraw(0)\n"
    "data = b''\n"
    "while b'END' not in data: data += os.read(0, 100)\n"
    "sys.stdout.write(repr(data) + '\\r\\n')\n"
    "sys.stdout.flush()\n"
)


@pytest.mark.parametrize("mode", ["on", "off"])
async def test_paste_is_bracketed_only_when_the_program_asks(mode: str) -> None:
    app = PaneApp([sys.executable, "-c", PASTE_PROBE, mode])
    async with app.run_test(size=(70, 14)) as pilot:
        pane = app.query_one(TerminalPane)
        await wait_for(pilot, lambda: "READY" in pane.screen_text())
        pane.post_message(events.Paste("one\ntwo END"))
        await wait_for(pilot, lambda: app.exited != [])
        text = pane.screen_text().replace("\n", "")
        if mode == "on":
            assert r"b'\x1b[200~one\rtwo END\x1b[201~'" in text
        else:
            assert r"b'one\rtwo END'" in text


MOUSE_PROBE = (
    "import os, sys, tty\n"
    "sys.stdout.write('\\x1b[?%s;1006hREADY\\r\\n' % sys.argv[1])\n"
    "sys.stdout.flush()\n"
    "tty.setraw(0)\n"
    "data = b''\n"
    "while not data.endswith(b'm'): data += os.read(0, 100)\n"
    "sys.stdout.write(repr(data) + '\\r\\n')\n"
    "sys.stdout.flush()\n"
)


@pytest.mark.parametrize("mode", [1000, 1003])
async def test_mouse_reports_reach_a_program_that_asks_for_them(mode: int) -> None:
    app = PaneApp([sys.executable, "-c", MOUSE_PROBE, str(mode)])
    async with app.run_test(size=(70, 14)) as pilot:
        pane = app.query_one(TerminalPane)
        await wait_for(pilot, lambda: "READY" in pane.screen_text())
        assert pane.emulator.mouse_tracking == mode and pane.emulator.mouse_sgr
        await pilot.hover(pane, offset=(7, 1))
        await pilot.click(pane, offset=(4, 2))
        await wait_for(pilot, lambda: app.exited != [])
        text = pane.screen_text().replace("\n", "")
        # SGR report: button 0 pressed then released at column 5, row 3 (1-based).
        assert r"\x1b[<0;5;3M\x1b[<0;5;3m'" in text
        # Motion with no button (32 + 3) is reported only in any-motion mode (1003).
        assert (r"\x1b[<35;8;2M" in text) == (mode == 1003)
        assert pane.selected_text() == ""  # a program's mouse is not a selection


async def test_process_exit_posts_exited_and_says_so() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "exit 5")
        await wait_for(pilot, lambda: app.exited == [5])
        assert "[process exited with status 5]" in lines(pane)
        assert pane.exit_status == 5
        await pilot.press("x")  # typing into a finished pane is harmless


async def test_title_changes_are_posted() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        await ready(pilot)
        await type_line(pilot, r"printf '\e]0;[b]my title\a'")
        await wait_for(pilot, lambda: "[b]my title" in app.titles)


async def test_scrollback_with_shift_page_keys_and_wheel() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "seq 1 100")
        await wait_for(pilot, lambda: "100" in lines(pane))
        assert pane.emulator.scrollback_len > 50
        await pilot.press("shift+pageup")
        assert pane.scrolled_back > 0
        top = pane.render_line(0).text
        assert f"↑ {pane.scrolled_back} lines back" in top  # the view says it is in history
        first = pane.render_line(1).text.strip()
        assert first.isdigit() and int(first) < 90
        await pilot.press("shift+pagedown")
        assert pane.scrolled_back == 0
        x, y = pane.region.x + 1, pane.region.y + 1  # the wheel as the driver reports it
        app.post_message(events.MouseScrollUp(None, x, y, 0, -1, 0, False, False, False, x, y))
        await wait_for(pilot, lambda: pane.scrolled_back == 3)
        await pilot.press("a")  # typing snaps back to the live screen
        assert pane.scrolled_back == 0


async def test_mouse_selection_copies_to_the_clipboard() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "clear; echo select me please")
        await wait_for(pilot, lambda: "select me please" in lines(pane))
        y = lines(pane).index("select me please")
        await pilot.mouse_down(pane, offset=(0, y))
        await pilot.hover(pane, offset=(9, y))
        await pilot.mouse_up(pane, offset=(9, y))
        assert app.clipboard == "select me"


async def test_unmount_terminates_the_process() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        assert pane.process is not None and pane.process.pid is not None
        pid = pane.process.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_program_that_cannot_start_is_reported_in_the_pane() -> None:
    app = PaneApp(["/nonexistent/session-plugin"])
    async with app.run_test(size=(70, 14)) as pilot:
        pane = app.query_one(TerminalPane)
        await wait_for(pilot, lambda: app.exited == [127])
        text = pane.screen_text().replace("\n", "")
        assert "[could not start /nonexistent/session-plugin: No such file or directory]" in text
        assert "[process exited with status 127]" in text


async def test_terminate_ends_the_shell_and_the_pane_says_how() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        assert pane.process is not None
        pid = pane.process.pid
        pane.terminate()  # callers may fire and forget (a closing tab)...
        await wait_for(pilot, lambda: app.exited != [])
        status = await pane.terminate()  # ...or await the same ending
        assert app.exited == [status] and status is not None and status < 0
        with pytest.raises(ProcessLookupError):
            os.kill(pid or 0, 0)
        assert "[process ended by signal SIGHUP]" in lines(pane)


async def test_keys_are_answered_during_an_endless_flood() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        assert pane.process is not None and pane.process.pid is not None
        await type_line(pilot, "yes flood")
        await wait_for(pilot, lambda: children(pane.process.pid) != [])  # type: ignore[union-attr]
        await wait_for(pilot, lambda: lines(pane).count("flood") > 5)
        await wait_for(pilot, lambda: pane.flooding)  # frames paced for the flood
        await pilot.press(RELEASE_KEY)  # the app still gets its chord while `yes` floods
        assert isinstance(app.focused, Input)
        pane.focus()
        await pilot.press("ctrl+c")  # and the process still gets Ctrl-C
        await wait_for(pilot, lambda: children(pane.process.pid) == [])  # type: ignore[union-attr]
        await type_line(pilot, "echo after=$?")
        await wait_for(pilot, lambda: "after=130" in lines(pane))
        await wait_for(pilot, lambda: not pane.flooding)  # echo is back at the full frame rate


async def test_a_view_scrolled_back_stays_on_its_lines_while_output_goes_on() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = await ready(pilot)
        await type_line(pilot, "seq 1 50")
        await wait_for(pilot, lambda: "50" in lines(pane))
        await pilot.press("shift+pageup")
        shown = [pane.render_line(y).text.strip() for y in range(1, 6)]
        pane.send(b"seq 100 160\r")  # output arrives while the user reads the history
        await wait_for(pilot, lambda: pane.emulator.scrollback_pushed > 90)
        await pilot.pause(0.1)
        assert [pane.render_line(y).text.strip() for y in range(1, 6)] == shown
