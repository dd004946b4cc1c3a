"""TerminalPane: a child process in a real pty, drawn inside the app.

How it stays responsive during a flood (``cat`` of a big file):

* output is read on the loop in batches (``term.pty``) and queued; the pane feeds the emulator
  from that queue in slices, for at most ``FEED_BUDGET`` seconds before yielding to the loop, so
  key presses and timers keep running. When the queue grows past ``MAX_BACKLOG`` the pane stops
  reading the pty: the kernel's pty buffer fills and the writer blocks, as in any terminal.
* the emulator reports which lines changed; the pane remembers them and asks Textual to repaint
  only those lines, at most once per frame (``FRAME``), whatever the number of reads in between.
  While output floods in (above ``FLOOD_RATE`` for ``FLOOD_AFTER`` on end, or a queue left over),
  frames come every ``FLOOD_FRAME`` instead, as terminal emulators do: nobody reads a screen that
  scrolls by a thousand lines a second, and every frame not drawn is CPU left for the data itself
  (measured with ``benchmarks/terminal.py``, where the pane shares two cores with the plugin and
  the sandbox). Echo and interactive programs stay at the full rate: a full-screen redraw of vim
  or top is a burst of a few kilobytes, not a sustained megabyte a second.
* during a flood the pane also leaves the pty alone for ``READ_GAP`` after each read, so output
  gathers in the kernel's buffer and arrives in reads of kilobytes rather than of one data
  channel message each: the cost of a read (wake-up, queue, emulator call, bookkeeping) is paid
  per batch, not per message.
* each line's ``Strip`` is cached until the emulator says the line changed.

Every key goes to the process while the pane has focus (Ctrl-C, Ctrl-Z, Ctrl-\\, Tab, Escape,
Ctrl-P, Ctrl-Q...): ``on_key`` stops them all, and the ssm-tui app turns its own priority keys
off while a pane has focus (``SsmTuiApp.check_action``). The one way out is ``ctrl+]``
(``RELEASE_KEY``, like telnet), a priority binding shown in the footer, which hands focus back
to the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ssm_tui.term.emulator import (
    Cell,
    CellStyle,
    Color,
    Cursor,
    Emulator,
    cells_runs,
    create_emulator,
)
from ssm_tui.term.keys import encode_key
from ssm_tui.term.pty import PtyProcess

RELEASE_KEY = "ctrl+right_square_bracket"
"""The escape chord (Ctrl-]) that returns focus from the terminal to the app."""
FRAME = 1 / 60
FLOOD_FRAME = 1 / 8
FLOOD_RATE = 1_000_000
"""Bytes a second above which output counts as a flood..."""
FLOOD_AFTER = 0.25
"""...once it has lasted this long (seconds)."""
READ_GAP = 0.002
FEED_BUDGET = 0.008
FEED_SLICE = 64 * 1024
MAX_BACKLOG = 1 << 20
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"


def _rich_color(c: Color) -> RichColor | None:
    if c is None:
        return None
    if isinstance(c, int):
        return RichColor.from_ansi(c)
    return RichColor.from_rgb(*c)


def _rich_style(s: CellStyle) -> Style:
    return Style(
        color=_rich_color(s.fg),
        bgcolor=_rich_color(s.bg),
        bold=s.bold or None,
        dim=s.faint or None,
        italic=s.italic or None,
        underline=s.underline or None,
        blink=s.blink or None,
        reverse=s.reverse or None,
        strike=s.strike or None,
    )


def exit_note(status: int) -> str:
    """What the pane says when its process ended (``-N``: killed by signal N)."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = str(-status)
        return f"[process ended by signal {name}]"
    return f"[process exited with status {status}]"


class TerminalPane(Widget, can_focus=True):
    """A terminal running ``argv`` in a pty, sized to the widget."""

    ALLOW_SELECT = False  # we do our own selection: Textual's works on text, not a cell grid
    CAPTURES_KEYS = True
    """Every key goes to the process (`on_key`): the key bar shows only priority bindings."""
    BINDING_GROUP_TITLE = "Terminal"
    HELP = """
## Terminal

Every key goes to the session while the terminal has focus: Ctrl-C, Ctrl-\\ and Ctrl-Z
reach the remote program, Tab completes, Escape is the program's.

- **Ctrl-]** gives the keyboard back to the app; **Ctrl-] then Ctrl-Q** quits.
  Ctrl-P and Ctrl-Q belong to the session (shell history, flow control) while it has focus.
- **Shift-PageUp / Shift-PageDown** or the mouse wheel scroll the history; any key returns.
- **Drag** with the mouse to copy text (hold Shift when the program uses the mouse).
- **Paste** from your terminal as usual (bracketed when the program asks for it).
"""

    BINDINGS = [
        Binding(
            RELEASE_KEY,
            "release_focus",
            "Leave terminal (then ^q quits)",
            key_display="^]",
            priority=True,
            id="terminal.release_focus",
            tooltip="Return keyboard focus from the terminal to the app",
        ),
    ]

    DEFAULT_CSS = """
    TerminalPane {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
    }
    """

    class Exited(Message):
        """The process ended (its output is all on the screen)."""

        def __init__(self, pane: TerminalPane, exit_status: int) -> None:
            super().__init__()
            self.pane = pane
            self.exit_status = exit_status
            """Exit code, or ``-N`` when ended by signal N."""

        @property
        def control(self) -> TerminalPane:
            return self.pane

    class FirstOutput(Message):
        """The process wrote its first byte: the session is through (issue 15)."""

        def __init__(self, pane: TerminalPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> TerminalPane:
            return self.pane

    class TitleChanged(Message):
        """The program set the terminal title (OSC 0/2)."""

        def __init__(self, pane: TerminalPane, title: str) -> None:
            super().__init__()
            self.pane = pane
            self.title = title

        @property
        def control(self) -> TerminalPane:
            return self.pane

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        title: str | None = None,
        *,
        scrollback: int = 10_000,
        backend: str | None = None,
        pass_fds: Sequence[int] = (),
        keyboard: bool = True,
        waiting_note: str | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.argv = list(argv)
        self.env = dict(env or {})
        self.pass_fds = tuple(pass_fds)
        """Descriptors the process inherits (the plugin's response pipe); the pane owns them:
        `PtyProcess` closes them once the child started, `on_unmount` if it never did."""
        self.title = title or " ".join(self.argv)
        self.keyboard = keyboard
        self.typed: Callable[[bytes], None] | None = None
        """Where typed keys and pastes go instead of `send` when set (broadcast mode,
        `ui/broadcast.py`); the app's own writes (a login command) always use `send`."""
        """False: keys are not sent (a port forward reads none) and stay the app's keys."""
        self.CAPTURES_KEYS = keyboard
        self.waiting_note = waiting_note
        """Shown until the first byte arrives ("connecting…"); None: a blank screen."""
        self.waiting = waiting_note is not None
        self.emulator: Emulator = create_emulator(80, 24, scrollback, backend)
        self.process: PtyProcess | None = None
        self.exit_status: int | None = None
        self._scrollback_size = scrollback
        self._cache: dict[int, Strip] = {}
        self._dirty: set[int] = set()
        self._backlog: deque[bytes] = deque()
        self._backlog_size = 0
        self._reading_paused = False
        self._feed_handle: asyncio.Handle | None = None
        self._gap_handle: asyncio.TimerHandle | None = None
        self._frame_handle: asyncio.TimerHandle | None = None
        self._last_frame = 0.0
        self._fed_since_frame = 0
        self._flooding = False
        self._flood_since: float | None = None
        self._styles: dict[CellStyle, Style] = {}
        self._base_style: Style | None = None
        self._scroll = 0  # lines scrolled back into history; 0 = live screen
        self._sel_anchor: tuple[int, int] | None = None  # (column, absolute line)
        self._sel_end: tuple[int, int] | None = None
        self._selecting = False
        self._started = False
        self._exited_event = asyncio.Event()
        self._last_title = ""
        self._terminating: asyncio.Future[int | None] | None = None
        self._drawn_cursor = Cursor(0, 0, True)

    # --- process lifecycle ------------------------------------------------------------------

    def _screen_size(self) -> tuple[int, int]:
        size = self.content_size
        return max(size.width, 1), max(size.height, 1)

    async def _start(self) -> None:
        cols, rows = self._screen_size()
        self.emulator.resize(cols, rows)
        fds, self.pass_fds = self.pass_fds, ()
        self.process = PtyProcess(
            self.argv,
            self.env,
            cols,
            rows,
            pass_fds=fds,
            on_data=self._on_data,
            on_exit=self._on_exit,
        )
        try:
            await self.process.start()
        except OSError as exc:
            self.process = None
            message = f"[could not start {self.argv[0]}: {exc.strerror or exc}]"
            self._feed_local(message)
            self._finish(127)

    async def on_resize(self, event: events.Resize) -> None:
        cols, rows = self._screen_size()
        if self.content_size.width <= 0 or self.content_size.height <= 0:
            return
        if not self._started:
            # The first real size: start the process now, so its pty never has another size.
            self._started = True
            await self._start()
            return
        if (cols, rows) != (self.emulator.cols, self.emulator.rows):
            self.emulator.resize(cols, rows)
            if self.process is not None:
                self.process.resize(cols, rows)
            self._invalidate()

    async def on_unmount(self) -> None:
        await self.terminate()

    def terminate(self) -> asyncio.Future[int | None]:
        """End the process: SIGHUP/SIGTERM its group and close the pty now, SIGKILL after a
        grace period. Call it and move on, or await the result for the exit status."""
        self._cancel_handles()
        fds, self.pass_fds = self.pass_fds, ()  # never started: nobody else closes them
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._terminating is None:
            if self.process is None:
                done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
                done.set_result(self.exit_status)
                return done
            self.process.hangup()  # at once, even if the loop stops before the task runs
            self._terminating = asyncio.ensure_future(self.process.terminate())
        return self._terminating

    async def wait(self) -> int:
        """Wait until the process ended and its output is on screen; the exit status."""
        await self._exited_event.wait()
        assert self.exit_status is not None
        return self.exit_status

    def _cancel_handles(self) -> None:
        for handle in (self._feed_handle, self._frame_handle, self._gap_handle):
            if handle is not None:
                handle.cancel()
        self._feed_handle = self._frame_handle = self._gap_handle = None

    def _on_exit(self, status: int) -> None:
        self._feed_backlog(budget=None)
        self._finish(status)

    def _stop_waiting(self) -> None:
        self.waiting = False
        self._invalidate()
        self.post_message(self.FirstOutput(self))

    def _finish(self, status: int) -> None:
        if self.waiting:
            self.waiting = False
            self._invalidate()
        self.exit_status = status
        self._feed_local(exit_note(status))
        self._flush_frame()
        self._exited_event.set()
        self.post_message(self.Exited(self, status))

    def _feed_local(self, text: str) -> None:
        """Show a note of ours (plain text, dim) after the program's output."""
        safe = "".join(ch for ch in text if ch.isprintable())
        prefix = b"\r\n" if self.emulator.cursor.x else b""
        self._dirty |= self.emulator.feed(prefix + b"\x1b[0;2m" + safe.encode() + b"\x1b[0m")

    # --- output path ------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        if self.waiting:
            self._stop_waiting()
        self._backlog.append(data)
        self._backlog_size += len(data)
        if self._backlog_size > MAX_BACKLOG and not self._reading_paused and self.process:
            self._reading_paused = True
            self.process.pause_reading()
        elif self._flooding and self._gap_handle is None and self.process is not None:
            self.process.pause_reading()
            self._gap_handle = asyncio.get_running_loop().call_later(READ_GAP, self._end_gap)
        if self._feed_handle is None:
            self._feed_handle = asyncio.get_running_loop().call_soon(self._feed_step)

    def _end_gap(self) -> None:
        self._gap_handle = None
        if not self._reading_paused and self.process is not None:
            self.process.resume_reading()

    def _feed_step(self) -> None:
        self._feed_handle = None
        self._feed_backlog(budget=FEED_BUDGET)
        if self._backlog:
            self._feed_handle = asyncio.get_running_loop().call_soon(self._feed_step)
        elif self._reading_paused and self.process is not None:
            self._reading_paused = False
            self.process.resume_reading()

    def _feed_backlog(self, budget: float | None) -> None:
        """Feed queued output to the emulator for at most ``budget`` seconds (None: all)."""
        deadline = None if budget is None else time.perf_counter() + budget
        emulator = self.emulator
        dirty = self._dirty
        before_pushed = emulator.scrollback_pushed
        while self._backlog:
            chunk = self._backlog.popleft()
            if len(chunk) > FEED_SLICE:
                self._backlog.appendleft(chunk[FEED_SLICE:])
                chunk = chunk[:FEED_SLICE]
            self._backlog_size -= len(chunk)
            self._fed_since_frame += len(chunk)
            dirty |= emulator.feed(chunk)
            if deadline is not None and time.perf_counter() > deadline:
                break
        replies = emulator.take_replies()
        if replies and self.process is not None:
            self.process.write(replies)
        pushed = emulator.scrollback_pushed - before_pushed
        if self._scroll and pushed:
            # Keep the lines the user scrolled back to in view while output goes on.
            self._scroll = min(self._scroll + pushed, emulator.scrollback_len)
            self._cache.clear()
            dirty.update(range(emulator.rows))
        cursor = emulator.cursor
        if cursor != self._drawn_cursor:
            # The cursor is drawn into its line: repaint the line it left and the one it is on.
            dirty.add(self._drawn_cursor.y)
            dirty.add(cursor.y)
            self._drawn_cursor = cursor
        title = emulator.title
        if title != self._last_title:
            self._last_title = title
            self.post_message(self.TitleChanged(self, title))
        if dirty:
            self._schedule_frame()

    @property
    def flooding(self) -> bool:
        """Whether frames are paced for a flood (``FLOOD_FRAME``) rather than ``FRAME``."""
        return self._flooding

    def _schedule_frame(self) -> None:
        if self._frame_handle is not None:
            return
        interval = FLOOD_FRAME if self._flooding else FRAME
        delay = max(0.0, self._last_frame + interval - time.perf_counter())
        self._frame_handle = asyncio.get_running_loop().call_later(delay, self._flush_frame)

    def _flush_frame(self) -> None:
        self._frame_handle = None
        now = time.perf_counter()
        rate = self._fed_since_frame / max(now - self._last_frame, FRAME)
        self._last_frame = now
        self._fed_since_frame = 0
        if rate > FLOOD_RATE or self._backlog:
            if self._flood_since is None:
                self._flood_since = now
            self._flooding = now - self._flood_since >= FLOOD_AFTER
        else:
            self._flood_since = None
            self._flooding = False
        dirty, self._dirty = self._dirty, set()
        if not dirty or not self.is_mounted:
            return
        cache = self._cache
        width = self.size.width
        if self._scroll:
            cache.clear()
            self.refresh()
            return
        rows = self.emulator.rows
        dirty = {y for y in dirty if y < rows}
        for y in dirty:
            cache.pop(y, None)
        if len(dirty) > self.emulator.rows // 2:
            self.refresh()
        else:
            self.refresh(*(Region(0, y, width, 1) for y in dirty))

    def _invalidate(self) -> None:
        self._cache.clear()
        self.refresh()

    # --- rendering --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None  # theme or CSS changed: rebuild styles and lines

    def _style_for(self, cell_style: CellStyle) -> Style:
        style = self._styles.get(cell_style)
        if style is None:
            assert self._base_style is not None
            style = self._styles[cell_style] = self._base_style + _rich_style(cell_style)
        return style

    def _line_cells(self, absolute: int) -> list[Cell]:
        """Cells of a line counted from the oldest history line (history, then screen)."""
        history = self.emulator.scrollback_len
        if absolute < history:
            return self.emulator.scrollback_line(absolute)
        y = absolute - history
        if 0 <= y < self.emulator.rows:
            return self.emulator.line(y)
        return []

    def _strip(self, cells: list[Cell]) -> Strip:
        """A line of cells as a Strip: one Segment per run of cells with the same style."""
        return self._strip_runs(cells_runs(cells))

    def _strip_runs(self, runs: list[tuple[str, CellStyle]]) -> Strip:
        """A line as a Strip from its runs of ``(text, style)``, one Segment each."""
        style_for = self._style_for
        segments = [Segment(text, style_for(cell_style)) for text, cell_style in runs]
        return Strip(segments).adjust_cell_length(self.size.width, self._base_style)

    def _marked_strip(
        self, cells: list[Cell], highlight: tuple[int, int] | None, cursor: int
    ) -> Strip:
        """Like ``_strip``, with the cursor cell and a selected span drawn in reverse video."""
        marked = []
        for x, cell in enumerate(cells):
            if x == cursor or (highlight is not None and highlight[0] <= x < highlight[1]):
                cell = cell._replace(style=cell.style._replace(reverse=not cell.style.reverse))
            marked.append(cell)
        return self._strip(marked)

    def render_line(self, y: int) -> Strip:
        if self._base_style is None:
            self._base_style = self.rich_style
            self._styles.clear()
            self._cache.clear()
        if self.waiting:
            return self._waiting_line(y)
        emulator = self.emulator
        absolute = emulator.scrollback_len - self._scroll + y
        highlight = self._selection_on(absolute)
        cursor = -1
        if self._scroll == 0 and self.has_focus and self.exit_status is None:
            cur = emulator.cursor
            if cur.visible and cur.y == y:
                cursor = cur.x
        if self._scroll == 0 and highlight is None and cursor < 0 and y < emulator.rows:
            strip = self._cache.get(y)
            if strip is None:
                strip = self._cache[y] = self._strip_runs(emulator.line_runs(y))
            return strip
        strip = self._marked_strip(self._line_cells(absolute), highlight, cursor)
        if y == 0 and self._scroll:
            strip = self._with_scroll_label(strip)
        return strip

    def _waiting_line(self, y: int) -> Strip:
        """Until the first byte: the waiting note, dim, in the middle of the pane."""
        width = self.size.width
        base = self._base_style or Style()
        note = self.waiting_note or ""
        if y != self.size.height // 2 or not note:
            return Strip.blank(width, base)
        note = note[: max(width - 2, 0)]
        left = max((width - len(note)) // 2, 0)
        segments = [Segment(" " * left, base), Segment(note, base + Style(dim=True))]
        return Strip(segments).adjust_cell_length(width, base)

    def _with_scroll_label(self, strip: Strip) -> Strip:
        """Say on the top line that the view is in the history, and how to get back."""
        label = f" ↑ {self._scroll} lines back · shift+pagedown "
        width = self.size.width
        if len(label) >= width:
            return strip
        style = (self._base_style or Style()) + Style(reverse=True)
        return Strip.join([strip.crop(0, width - len(label)), Strip([Segment(label, style)])])

    def on_focus(self, event: events.Focus) -> None:
        self._dirty.add(self.emulator.cursor.y)
        self._schedule_frame()

    def on_blur(self, event: events.Blur) -> None:
        self._dirty.add(self.emulator.cursor.y)
        self._schedule_frame()

    # --- input ------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write bytes to the process's terminal (as if typed)."""
        if self.process is not None and self.exit_status is None:
            self.process.write(data)

    async def on_key(self, event: events.Key) -> None:
        if not self.keyboard:
            return  # not the session's: the app's bindings see the key
        event.stop()
        event.prevent_default()
        key = event.key
        if key in ("shift+pageup", "shift+pagedown") and not self.emulator.alternate_screen:
            page = max(self.emulator.rows - 1, 1)
            self.scroll_history(page if key == "shift+pageup" else -page)
            return
        data = encode_key(key, event.character, self.emulator.app_cursor_keys)
        if data is None:
            return
        self._clear_selection()
        if self._scroll:
            self.scroll_history(-self._scroll)
        (self.typed or self.send)(data)

    def on_paste(self, event: events.Paste) -> None:
        if not self.keyboard:
            return
        event.stop()
        event.prevent_default()
        self.paste(event.text)

    def paste(self, text: str) -> None:
        """Send pasted text, bracketed when the program asked for it (mode 2004)."""
        data = text.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8", "replace")
        if self.emulator.bracketed_paste:
            data = PASTE_START + data.replace(PASTE_END, b"") + PASTE_END
        (self.typed or self.send)(data)

    def action_release_focus(self) -> None:
        """Give the keyboard back to the app (the escape chord).

        A screen that knows where the app's keys live (the ssm-tui main screen: its tab bar)
        says so with a `release_terminal_focus(pane)` method; elsewhere the focus moves to the
        next widget that is not a terminal (in a split view that is not the other session).
        """
        screen = self.screen
        release = getattr(screen, "release_terminal_focus", None)
        if callable(release):
            release(self)
            return
        outside = [w for w in screen.focus_chain if not isinstance(w, TerminalPane)]
        screen.set_focus(outside[0] if outside else None)

    # --- scrollback -------------------------------------------------------------------------

    def scroll_history(self, lines: int) -> None:
        """Scroll back (``lines`` > 0) or forward into the scrollback (not on the alt screen)."""
        limit = 0 if self.emulator.alternate_screen else self.emulator.scrollback_len
        new = min(max(self._scroll + lines, 0), limit)
        if new != self._scroll:
            self._scroll = new
            self._invalidate()

    @property
    def scrolled_back(self) -> int:
        """How many lines the view is scrolled back into history (0 = live)."""
        return self._scroll

    # --- mouse ------------------------------------------------------------------------------

    def _report_mouse(self, button: int, event: events.MouseEvent, press: bool) -> bool:
        """Send a mouse report when the program asked for them; True when sent."""
        emulator = self.emulator
        if not emulator.mouse_tracking or event.shift or self.process is None:
            return False
        x, y = event.x + 1, event.y + 1
        mods = (4 if event.shift else 0) | (8 if event.meta else 0) | (16 if event.ctrl else 0)
        code = button | mods
        if emulator.mouse_sgr:
            self.send(b"\x1b[<%d;%d;%d%s" % (code, x, y, b"M" if press else b"m"))
        else:
            if not press:
                code = 3 | mods
            if x > 223 or y > 223:
                return True
            self.send(b"\x1b[M" + bytes([32 + code, 32 + x, 32 + y]))
        return True

    def _wheel(self, event: events.MouseEvent, up: bool) -> None:
        event.stop()
        if self._report_mouse(64 if up else 65, event, True):
            return
        if self.emulator.alternate_screen:
            # No scrollback on the alternate screen: scroll the program (less, vim) instead.
            key = encode_key("up" if up else "down", None, self.emulator.app_cursor_keys) or b""
            self.send(key * 3)
            return
        self.scroll_history(3 if up else -3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, up=True)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, up=False)

    def _absolute_point(self, event: events.MouseEvent) -> tuple[int, int]:
        history = self.emulator.scrollback_len
        y = min(max(event.y, 0), self.emulator.rows - 1)
        x = min(max(event.x, 0), self.emulator.cols)
        return x, history - self._scroll + y

    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        if not self.has_focus:
            self.focus()
        if self._report_mouse(event.button - 1 if event.button else 0, event, True):
            return
        if event.button != 1:
            return
        self._clear_selection()
        self._sel_anchor = self._sel_end = self._absolute_point(event)
        self._selecting = True
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._selecting:
            event.stop()
            self._sel_end = self._absolute_point(event)
            self._invalidate()
            return
        mode = self.emulator.mouse_tracking
        if mode == 1003 or (mode == 1002 and event.button):
            event.stop()
            button = event.button - 1 if event.button else 3  # 3: no button held
            self._report_mouse(32 + button, event, True)  # 32: motion

    def on_mouse_up(self, event: events.MouseUp) -> None:
        event.stop()
        if not self._selecting:
            self._report_mouse(event.button - 1 if event.button else 0, event, False)
            return
        self._selecting = False
        self.release_mouse()
        self._sel_end = self._absolute_point(event)
        text = self.selected_text()
        if text:
            self.app.copy_to_clipboard(text)
        else:
            self._clear_selection()
        self._invalidate()

    def _ordered_selection(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        if self._sel_anchor is None or self._sel_end is None:
            return None
        (ax, ay), (bx, by) = self._sel_anchor, self._sel_end
        start, end = sorted([(ay, ax), (by, bx)])
        if start == end:
            return None
        return (start[1], start[0]), (end[1], end[0])

    def _selection_on(self, absolute: int) -> tuple[int, int] | None:
        ordered = self._ordered_selection()
        if ordered is None:
            return None
        (sx, sy), (ex, ey) = ordered
        if not sy <= absolute <= ey:
            return None
        start = sx if absolute == sy else 0
        end = ex if absolute == ey else self.emulator.cols
        return start, end

    def selected_text(self) -> str:
        """The selected text (lines joined with newlines, trailing blanks dropped)."""
        ordered = self._ordered_selection()
        if ordered is None:
            return ""
        (sx, sy), (ex, ey) = ordered
        lines = []
        for absolute in range(sy, ey + 1):
            cells = self._line_cells(absolute)
            start = sx if absolute == sy else 0
            end = ex if absolute == ey else len(cells)
            lines.append("".join(c.text for c in cells[start:end]).rstrip())
        return "\n".join(lines)

    def _clear_selection(self) -> None:
        if self._sel_anchor is not None:
            self._sel_anchor = self._sel_end = None
            self._invalidate()

    # --- for tests and callers --------------------------------------------------------------

    def screen_text(self) -> str:
        """The visible terminal screen as plain text (what the user sees, without styles)."""
        return self.emulator.text()
