"""The terminal emulator interface the pane draws from, and the factory that picks a backend.

The pane never talks to an emulator library directly: it feeds bytes, learns which visible lines
changed, and reads those lines back as cells. Keeping that surface small lets us swap the
emulation engine by measurement (``benchmarks/emulators.py``):

* pyavt (asciinema's Rust ``avt``) is the default: 5-90 MB/s through this interface here, 25-370x
  pyte, ~2-4 ms to read a full 80x24 screen of cells, and it reports changed lines itself.
* pyghostty feeds 2-8x faster still, but its Python API reads a cell through several cffi calls:
  70-145 ms per 80x24 screen, far over a 16 ms frame. Not used.
* par-term-emu-core-rust has no release that installs on Python 3.11 (all need >= 3.12).
* pyte (pure Python, 0.03-0.5 MB/s here) is the fallback when avt is missing; both backends pass
  the same tests (tests/term/test_emulator.py), including captured vim/less/top/ls sessions.

Some state the pane needs is not exposed by every engine (avt has no bracketed-paste, mouse or
title state), so :class:`ModeTracker` reads it from the byte stream once, for every backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import groupby
from operator import attrgetter
from typing import Any, NamedTuple, Protocol, runtime_checkable

Color = int | tuple[int, int, int] | None
"""A cell colour: ``None`` = the terminal default, ``0..255`` = palette index, ``(r, g, b)``."""


class CellStyle(NamedTuple):
    """How one cell is drawn. A NamedTuple so it hashes cheaply (the pane caches Rich styles)."""

    fg: Color = None
    bg: Color = None
    bold: bool = False
    faint: bool = False
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False
    strike: bool = False


DEFAULT_STYLE = CellStyle()


class Cell(NamedTuple):
    """One screen cell. A wide (CJK, emoji) character is a width-2 cell followed by a
    width-0 cell whose text is empty, so every line has exactly ``cols`` cells."""

    text: str
    style: CellStyle = DEFAULT_STYLE
    width: int = 1


BLANK = Cell(" ")


class Cursor(NamedTuple):
    """Cursor column and row on the visible screen (0-based), and whether it is shown."""

    x: int
    y: int
    visible: bool


@runtime_checkable
class Emulator(Protocol):
    """What the terminal pane needs from an emulator backend."""

    backend: str
    """Short backend name, e.g. ``"avt"`` or ``"pyte"`` (shown in benchmarks and tests)."""

    @property
    def cols(self) -> int: ...

    @property
    def rows(self) -> int: ...

    def feed(self, data: bytes) -> set[int]:
        """Process program output; return the visible line numbers that changed.

        ``data`` may end in the middle of a UTF-8 character or an escape sequence: the rest
        arrives with the next call."""
        ...

    def resize(self, cols: int, rows: int) -> None: ...

    def line(self, y: int) -> list[Cell]:
        """The ``cols`` cells of visible line ``y`` (0 = top)."""
        ...

    def line_runs(self, y: int) -> list[tuple[str, CellStyle]]:
        """Visible line ``y`` as runs of ``(text, style)``: what :func:`cells_runs` makes of
        ``line(y)``, without a ``Cell`` per column where the backend can (what drawing needs)."""
        ...

    @property
    def cursor(self) -> Cursor: ...

    @property
    def alternate_screen(self) -> bool: ...

    @property
    def bracketed_paste(self) -> bool: ...

    @property
    def app_cursor_keys(self) -> bool: ...

    @property
    def mouse_tracking(self) -> int:
        """0 = off, else the xterm mode asked for: 1000 (clicks), 1002 (drag), 1003 (motion)."""
        ...

    @property
    def mouse_sgr(self) -> bool:
        """Whether mouse reports use the SGR (1006) encoding."""
        ...

    @property
    def scrollback_len(self) -> int: ...

    def scrollback_line(self, i: int) -> list[Cell]:
        """Line ``i`` of the scrollback, 0 = oldest, ``scrollback_len - 1`` = just above the
        screen."""
        ...

    @property
    def scrollback_pushed(self) -> int:
        """Lines ever pushed into the scrollback; unlike ``scrollback_len`` it keeps growing once
        the limit is reached (a view scrolled back uses it to stay on the same lines)."""
        ...

    def text(self) -> str:
        """The visible screen as plain text, one line per row, trailing blanks stripped."""
        ...

    @property
    def title(self) -> str: ...

    def take_replies(self) -> bytes:
        """Answers the program asked for (device attributes, cursor position), to be written back
        to the pty; empty when there are none."""
        ...


def cells_runs(cells: list[Cell]) -> list[tuple[str, CellStyle]]:
    """Cells grouped into runs of one style: ``(joined text, style)``, left to right."""
    return [("".join([c.text for c in run]), style) for style, run in groupby(cells, _cell_style)]


_cell_style = attrgetter("style")


def cells_text(cells: list[Cell]) -> str:
    """Plain text of a line of cells (wide-character continuation cells add nothing)."""
    return "".join(c.text for c in cells).rstrip()


# --- terminal modes read from the byte stream -------------------------------------------------

_SEQ = re.compile(
    rb"\x1b\[\?([0-9;]*)([hl])"  # DECSET / DECRST
    rb"|\x1b\]([0-9]*);([^\x07\x1b]*)(?:\x07|\x1b\\)"  # OSC (titles)
    rb"|\x1b\[([0-9]*)([cn])"  # DA1 / DSR queries
    rb"|\x1bc"  # RIS: full reset
)
_PARTIAL = re.compile(rb"\x1b(?:\[\??[0-9;]*|\][^\x07\x1b]*|\][^\x07]*\x1b)?\Z")
_MAX_PENDING = 4096
_ALT_MODES = {47, 1047, 1049}
_MOUSE_MODES = {9, 1000, 1002, 1003}


class ModeTracker:
    """Follows the private modes, title and queries in program output.

    It scans the raw bytes with one C-level regex per chunk, so it costs next to nothing beside
    the emulator, and keeps the unfinished tail of a sequence cut between two reads."""

    def __init__(self, on_alt_screen: Callable[[bool], None] | None = None) -> None:
        self._on_alt_screen = on_alt_screen
        self._pending = b""
        self.reset()

    def reset(self) -> None:
        self.alternate_screen = False
        self.bracketed_paste = False
        self.app_cursor_keys = False
        self.mouse_tracking = 0
        self.mouse_sgr = False
        self.title = ""
        self.queries: list[bytes] = []

    def scan(self, data: bytes) -> None:
        """Update the modes from one chunk of output."""
        if self._pending:
            data = self._pending + data
            self._pending = b""
        if b"\x1b" not in data:
            return
        end = 0
        for m in _SEQ.finditer(data):
            end = m.end()
            if m.group(2) is not None:
                self._private(m.group(1), m.group(2) == b"h")
            elif m.group(3) is not None:
                if m.group(3) in (b"0", b"2"):
                    self.title = m.group(4).decode("utf-8", "replace")
            elif m.group(6) is not None:
                self.queries.append(m.group(0))
            else:
                was_alt = self.alternate_screen
                self.reset()
                if was_alt and self._on_alt_screen:
                    self._on_alt_screen(False)
        tail_at = data.rfind(b"\x1b", end)
        if tail_at >= 0 and len(data) - tail_at < _MAX_PENDING:
            tail = data[tail_at:]
            if _PARTIAL.match(tail):
                self._pending = tail

    def _private(self, params: bytes, on: bool) -> None:
        for p in params.split(b";"):
            if not p.isdigit():
                continue
            mode = int(p)
            if mode == 1:
                self.app_cursor_keys = on
            elif mode == 2004:
                self.bracketed_paste = on
            elif mode in _ALT_MODES:
                if on != self.alternate_screen:
                    self.alternate_screen = on
                    if self._on_alt_screen:
                        self._on_alt_screen(on)
            elif mode in _MOUSE_MODES:
                self.mouse_tracking = mode if on else 0
            elif mode == 1006:
                self.mouse_sgr = on

    def replies(self, cursor: Cursor) -> bytes:
        """Answers to the queries seen since the last call (cursor as of now)."""
        out = []
        for q in self.queries:
            if q.endswith(b"c") and q in (b"\x1b[c", b"\x1b[0c"):
                out.append(b"\x1b[?62;22c")  # VT220 with ANSI colour
            elif q == b"\x1b[5n":
                out.append(b"\x1b[0n")
            elif q == b"\x1b[6n":
                out.append(b"\x1b[%d;%dR" % (cursor.y + 1, cursor.x + 1))
        self.queries.clear()
        return b"".join(out)


# --- backend choice ---------------------------------------------------------------------------

BACKENDS = ("avt", "pyte")
"""Backends in order of preference (fastest first, as measured by benchmarks/emulators.py)."""


def available_backends() -> list[str]:
    """The backends whose library imports here."""
    found = []
    for name in BACKENDS:
        try:
            __import__({"avt": "avt", "pyte": "pyte"}[name])
        except ImportError:
            continue
        found.append(name)
    return found


def create_emulator(
    cols: int, rows: int, scrollback: int = 10_000, backend: str | None = None
) -> Emulator:
    """A new emulator of ``cols`` x ``rows`` keeping ``scrollback`` lines of history.

    ``backend=None`` picks the fastest one installed (avt), falling back to pyte."""
    names = [backend] if backend else available_backends()
    for name in names:
        if name == "avt":
            try:
                from ssm_tui.term.avt_backend import AvtEmulator
            except ImportError:
                if backend:
                    raise
                continue
            return AvtEmulator(cols, rows, scrollback)
        if name == "pyte":
            from ssm_tui.term.pyte_backend import PyteEmulator

            return PyteEmulator(cols, rows, scrollback)
        raise ValueError(f"unknown terminal emulator backend {name!r}; known: {BACKENDS}")
    raise RuntimeError("no terminal emulator backend is installed (need pyavt or pyte)")


class ModeBacked:
    """What both backends answer the same way: modes, title and replies from their ModeTracker.

    A backend sets `self._modes` (a ModeTracker) and `self._history` (its scrollback lines)."""

    _modes: ModeTracker
    _history: Any

    @property
    def bracketed_paste(self) -> bool:
        return self._modes.bracketed_paste

    @property
    def mouse_tracking(self) -> int:
        return self._modes.mouse_tracking

    @property
    def mouse_sgr(self) -> bool:
        return self._modes.mouse_sgr

    @property
    def scrollback_len(self) -> int:
        return len(self._history)

    @property
    def title(self) -> str:
        return self._modes.title

    def take_replies(self) -> bytes:
        if not self._modes.queries:
            return b""
        return self._modes.replies(self.cursor)  # type: ignore[attr-defined]
