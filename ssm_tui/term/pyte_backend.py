"""The fallback emulator backend: pyte (pure Python, ~0.5 MB/s here; see benchmarks/emulators.py).

pyte 0.8.2 lacks two things a session pane needs, added here on a ``pyte.Screen`` subclass:
the alternate screen (vim, less and top must hand the shell's screen back intact) and a cheap
scrollback (``pyte.HistoryScreen`` costs another 3-4x in feed speed, so we copy the top line
only when it scrolls off a full-screen scrolling region).
"""

from __future__ import annotations

import codecs
import inspect
from collections import defaultdict, deque
from typing import Any

import pyte
from pyte.screens import Char, Margins, StaticDefaultDict

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

_NAMED = {
    name: i
    for i, name in enumerate(("black", "red", "green", "brown", "blue", "magenta", "cyan", "white"))
}
_NAMED |= {"bright" + name: i + 8 for name, i in list(_NAMED.items())}
_NAMED |= {"yellow": 3, "brightyellow": 11}
_ALT = {47 << 5, 1047 << 5, 1049 << 5}


def _color(value: str) -> Color:
    if value == "default":
        return None
    named = _NAMED.get(value)
    if named is not None:
        return named
    try:
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
    except ValueError:
        return None


_style_cache: dict[tuple[Any, ...], CellStyle] = {}


def _cell(ch: Char) -> Cell:
    if ch.data == "":
        return Cell("", DEFAULT_STYLE, 0)
    key = ch[1:]
    style = _style_cache.get(key)
    if style is None:
        if len(_style_cache) > 4096:
            _style_cache.clear()
        style = CellStyle(
            _color(ch.fg),
            _color(ch.bg),
            ch.bold,
            False,
            ch.italics,
            ch.underscore,
            ch.blink,
            ch.reverse,
            ch.strikethrough,
        )
        _style_cache[key] = style
    if style is DEFAULT_STYLE or style == DEFAULT_STYLE:
        if ch.data == " ":
            return BLANK
        style = DEFAULT_STYLE
    width = 2 if pyte.screens.wcwidth(ch.data[0]) == 2 else 1
    return Cell(ch.data, style, width)


class _Screen(pyte.Screen):
    """pyte screen + alternate screen + scrollback capture."""

    buffer: defaultdict[int, StaticDefaultDict[int, Char]]  # pyte declares a Dict, makes this

    def __init__(self, columns: int, lines: int, history: deque[list[Cell]] | None) -> None:
        self.history = history
        self.pushed = 0
        self.in_alt = False
        self._saved: tuple[Any, Any] | None = None
        super().__init__(columns, lines)

    def row_cells(self, y: int) -> list[Cell]:
        row = self.buffer[y]
        return [_cell(row[x]) for x in range(self.columns)]

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if (
            self.history is not None
            and not self.in_alt
            and top == 0
            and bottom == self.lines - 1
            and self.cursor.y == bottom
        ):
            self.history.append(self.row_cells(0))
            self.pushed += 1
        super().index()

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and not self.in_alt and any(m << 5 in _ALT for m in modes):
            self._saved = (self.buffer, self.cursor)
            self.buffer = type(self.buffer)(self.buffer.default_factory)
            self.cursor = pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
            self.in_alt = True
            self.dirty.update(range(self.lines))
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and self.in_alt and any(m << 5 in _ALT for m in modes):
            if self._saved is not None:
                self.buffer, self.cursor = self._saved
            self._saved = None
            self.in_alt = False
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)


def _ignore_private(method_name: str) -> Any:
    base = getattr(pyte.Screen, method_name)

    def handler(self: _Screen, *args: Any, **kwargs: Any) -> None:
        if kwargs.pop("private", False):
            return None  # e.g. vim's CSI ? 4 m: pyte would raise TypeError mid-chunk
        return base(self, *args, **kwargs)

    return handler


# pyte's parser passes ``private=True`` to every CSI handler when the sequence has a "?", but most
# handlers do not take it: a single unknown private sequence would abort the rest of the chunk.
for _name in set(pyte.Stream.csi.values()):
    if "private" not in inspect.signature(getattr(pyte.Screen, _name)).parameters and _name not in (
        "set_mode",
        "reset_mode",
    ):
        setattr(_Screen, _name, _ignore_private(_name))


class PyteEmulator(ModeBacked):
    """:class:`~ssm_tui.term.emulator.Emulator` over ``pyte.Screen``."""

    backend = "pyte"

    def __init__(self, cols: int, rows: int, scrollback: int = 10_000) -> None:
        self._history: deque[list[Cell]] = deque(maxlen=max(scrollback, 0) or None)
        self._screen = _Screen(cols, rows, self._history if scrollback > 0 else None)
        self._screen.dirty.clear()
        self._stream = pyte.Stream(self._screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._modes = ModeTracker()

    @property
    def cols(self) -> int:
        return self._screen.columns

    @property
    def rows(self) -> int:
        return self._screen.lines

    def feed(self, data: bytes) -> set[int]:
        self._modes.scan(data)
        text = self._decoder.decode(data)
        if text:
            self._stream.feed(text)
        dirty = {y for y in self._screen.dirty if y < self._screen.lines}
        self._screen.dirty.clear()
        return dirty

    def resize(self, cols: int, rows: int) -> None:
        self._screen.resize(rows, cols)
        self._screen.dirty.clear()

    def line(self, y: int) -> list[Cell]:
        return self._screen.row_cells(y)

    def line_runs(self, y: int) -> list[tuple[str, CellStyle]]:
        return cells_runs(self.line(y))

    @property
    def cursor(self) -> Cursor:
        c = self._screen.cursor
        x = min(c.x, self._screen.columns - 1)
        return Cursor(x, c.y, not c.hidden)

    @property
    def alternate_screen(self) -> bool:
        return self._screen.in_alt

    @property
    def app_cursor_keys(self) -> bool:
        return self._modes.app_cursor_keys

    def scrollback_line(self, i: int) -> list[Cell]:
        return self._history[i]

    @property
    def scrollback_pushed(self) -> int:
        return self._screen.pushed

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self._screen.display)
