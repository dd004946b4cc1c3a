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

The records (cells, styles, cursor) live in :mod:`ssm_tui.term.cells` and the byte-stream mode
tracking in :mod:`ssm_tui.term.modes`; the backends import those, never this module, so the
factory below can import the backends without an import circle.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ssm_tui.term.cells import (
    BLANK,
    DEFAULT_STYLE,
    Cell,
    CellStyle,
    Color,
    Cursor,
    cells_runs,
    cells_text,
)

__all__ = [
    "BACKENDS",
    "BLANK",
    "DEFAULT_STYLE",
    "Cell",
    "CellStyle",
    "Color",
    "Cursor",
    "Emulator",
    "available_backends",
    "cells_runs",
    "cells_text",
    "create_emulator",
]


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
