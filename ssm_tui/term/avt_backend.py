"""The fast emulator backend: pyavt, Python bindings to asciinema's Rust ``avt``.

Chosen by measurement (benchmarks/emulators.py): 40-190x pyte's feed speed here, and it reports
the changed lines itself. avt keeps no scrollback we can index cheaply (``Vt.lines()`` copies all
of it), so we run it with ``scrollback_limit=0`` and keep the lines it hands back as they scroll
off the top in our own bounded deque.
"""

from __future__ import annotations

import codecs
from collections import deque

import avt

from ssm_tui.term.cells import (
    BLANK,
    DEFAULT_STYLE,
    Cell,
    CellStyle,
    Color,
    Cursor,
    cells_runs,
)
from ssm_tui.term.modes import ModeBacked, ModeTracker


def _color(c: avt.Color | None) -> Color:
    if c is None:
        return None
    if isinstance(c, avt.Color.Indexed):
        return c[0]
    assert isinstance(c, avt.Color.RGB)  # avt has no third kind of colour
    return (c[0], c[1], c[2])


def _style(pen: avt.Pen) -> CellStyle:
    if pen.is_default():
        return DEFAULT_STYLE
    return CellStyle(
        _color(pen.foreground),
        _color(pen.background),
        pen.bold,
        pen.faint,
        pen.italic,
        pen.underline,
        pen.blink,
        pen.inverse,
        pen.strikethrough,
    )


_ascii_cells: dict[CellStyle, dict[str, Cell]] = {DEFAULT_STYLE: {" ": BLANK}}
"""Shared ASCII cells per style. Cells are immutable, and making a NamedTuple costs ~0.4 us,
most of a line's conversion: during a flood every line of every frame is converted (40 lines x
120 cells at up to 60 frames/s), so reusing them halves the cost of a frame's lines."""
MAX_CACHED_STYLES = 512


def _ascii_table(style: CellStyle) -> dict[str, Cell]:
    table = _ascii_cells.get(style)
    if table is None:
        if len(_ascii_cells) >= MAX_CACHED_STYLES:  # a program cycling through true colours
            _ascii_cells.clear()
            _ascii_cells[DEFAULT_STYLE] = {" ": BLANK}
        table = _ascii_cells[style] = {}
    return table


def _cells(line: avt.Line) -> list[Cell]:
    """Our cells for an avt line. Crossing into Rust costs ~0.2 us per attribute read, so pens
    are converted only when they differ from the previous cell's, and an ASCII-only line (most
    output) takes its characters from one ``line.text`` call and its cells from a shared table."""
    cells = line.cells
    text = line.text
    out: list[Cell] = []
    append = out.append
    prev: avt.Pen | None = None
    style = DEFAULT_STYLE
    if len(text) == len(cells) and text.isascii():
        table = _ascii_cells[DEFAULT_STYLE]
        for ch, c in zip(text, cells, strict=True):
            pen = c.pen
            if prev is None or pen != prev:
                style = _style(pen)
                prev = pen
                table = _ascii_table(style)
            cell = table.get(ch)
            if cell is None:
                cell = table[ch] = Cell(ch, style, 1)
            append(cell)
        return out
    for c in cells:
        pen = c.pen
        if prev is None or pen != prev:
            style = _style(pen)
            prev = pen
        width = c.width
        if width == 0:
            append(Cell("", style, 0))
            continue
        ch = c.char
        append(BLANK if ch == " " and style is DEFAULT_STYLE else Cell(ch, style, width))
    return out


def _runs(line: avt.Line) -> list[tuple[str, CellStyle]]:
    """``cells_runs(_cells(line))``, faster: an ASCII-only line is cut into runs of equal pens
    and sliced from ``line.text``, with no ``Cell`` made (a frame of a flood draws every line)."""
    cells = line.cells
    text = line.text
    if not cells or not (len(text) == len(cells) and text.isascii()):
        return cells_runs(_cells(line))
    runs: list[tuple[str, CellStyle]] = []
    start = 0
    prev = cells[0].pen if cells else None
    style = DEFAULT_STYLE if prev is None else _style(prev)
    for x, c in enumerate(cells):
        pen = c.pen
        if pen != prev:
            prev = pen
            new_style = _style(pen)
            if new_style != style:
                runs.append((text[start:x], style))
                start, style = x, new_style
    runs.append((text[start:], style))
    return runs


class AvtEmulator(ModeBacked):
    """:class:`~ssm_tui.term.emulator.Emulator` over ``avt.Vt``."""

    backend = "avt"

    def __init__(self, cols: int, rows: int, scrollback: int = 10_000) -> None:
        self._vt = avt.Vt(cols, rows, scrollback_limit=0)
        self._vt.feed_str("")  # a new Vt reports every line changed once; start clean
        self._cols, self._rows = cols, rows
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._history: deque[avt.Line] = deque(maxlen=max(scrollback, 0) or None)
        self._keep_history = scrollback > 0
        self._pushed = 0
        self._modes = ModeTracker()

    @property
    def cols(self) -> int:
        return self._cols

    @property
    def rows(self) -> int:
        return self._rows

    def feed(self, data: bytes) -> set[int]:
        self._modes.scan(data)
        text = self._decoder.decode(data)
        if not text:
            return set()
        try:
            changed, gone = self._vt.feed_str(text)
        except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
            if type(exc).__name__ != "PanicException":
                raise
            # Never seen in fuzzing, but a panic must not take the app down: start a clean screen.
            self._vt = avt.Vt(self._cols, self._rows, scrollback_limit=0)
            return set(range(self._rows))
        if gone and self._keep_history:
            self._history.extend(gone)
            self._pushed += len(gone)
        return set(changed)

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) == (self._cols, self._rows):
            return
        _changed, gone = self._vt.resize(cols, rows)
        if gone and self._keep_history:
            self._history.extend(gone)
            self._pushed += len(gone)
        self._cols, self._rows = cols, rows

    def line(self, y: int) -> list[Cell]:
        return _cells(self._vt[y])

    def line_runs(self, y: int) -> list[tuple[str, CellStyle]]:
        return _runs(self._vt[y])

    @property
    def cursor(self) -> Cursor:
        c = self._vt.cursor
        # After the last column avt reports col == cols (a wrap is pending); draw it on the last.
        return Cursor(min(c.col, self._cols - 1), c.row, c.visible)

    @property
    def alternate_screen(self) -> bool:
        return self._modes.alternate_screen

    @property
    def app_cursor_keys(self) -> bool:
        return self._vt.cursor_key_app_mode

    def scrollback_line(self, i: int) -> list[Cell]:
        return _cells(self._history[i])

    @property
    def scrollback_pushed(self) -> int:
        return self._pushed

    def text(self) -> str:
        return "\n".join(line.text.rstrip() for line in self._vt.view())
