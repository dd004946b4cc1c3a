"""What a terminal screen is made of: cells, their styles, the cursor (plain records).

The pane, the transcript screen and every emulator backend speak in these; they hold no emulator,
so a backend can import them without importing the factory that picks the backend
(`ssm_tui.term.emulator`).
"""

from __future__ import annotations

from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

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


def cells_runs(cells: list[Cell]) -> list[tuple[str, CellStyle]]:
    """Cells grouped into runs of one style: ``(joined text, style)``, left to right."""
    return [("".join([c.text for c in run]), style) for style, run in groupby(cells, _cell_style)]


_cell_style = attrgetter("style")


def cells_text(cells: list[Cell]) -> str:
    """Plain text of a line of cells (wide-character continuation cells add nothing)."""
    return "".join(c.text for c in cells).rstrip()
