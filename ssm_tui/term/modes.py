"""Terminal state read from the byte stream itself, the same way for every backend.

Some state the pane needs is not exposed by every engine (avt has no bracketed-paste, mouse or
title state), so :class:`ModeTracker` reads it from the program's output once, for every backend,
and :class:`ModeBacked` answers the emulator interface's mode questions from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ssm_tui.term.cells import Cursor

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


class ModeBacked:
    """What both backends answer the same way: modes, title and replies from their ModeTracker.

    A backend sets `self._modes` (a ModeTracker) and `self._history` (its scrollback lines)."""

    _modes: ModeTracker
    _history: Any

    @property
    def cursor(self) -> Cursor:
        raise NotImplementedError  # each backend reads its own

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
        return self._modes.replies(self.cursor)
