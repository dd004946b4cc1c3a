"""Turn a session transcript (raw terminal output from AWS) into safe, displayable lines.

A transcript is whatever the remote shell wrote: colours, cursor moves, window-title OSCs, screen
clears, and any text an attacker put on the instance. None of it may reach the user's terminal or
be parsed as Rich/Textual markup. So this module is the single place that reads those bytes:

- `TranscriptDocument` holds the lines of a transcript as it streams in page by page (chunks do
  not end on line boundaries) with the timestamp of the event that began each line, so the viewer
  can jump to a time and the CLI can print as it follows.
- `render_line()` interprets one line the way a terminal would (carriage return overwrites, the
  cursor moves left and right, SGR colours become Rich styles) and drops every other control
  sequence; the result is a `rich.text.Text` built from plain strings, never from markup.
- `plain_line()` is the same without styles (search, saving, the CLI); `visible_line()` shows the
  escapes themselves as harmless symbols (`␛]0;evil␇`) for the "raw" view.

Why not the terminal emulator: a transcript is read as a scrolling log, line by line and lazily
(a 100 MB transcript opens on its first page); a screen emulator keeps only a screen. The line
interpreter below gives the same text for line-oriented shells, in constant time per line.
"""

from __future__ import annotations

import codecs
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from rich.color import Color
from rich.style import Style
from rich.text import Text

# One alternation, tried left to right, over a single line (the document splits on "\n" first).
# Sequences cut at the end of a line (an OSC with a newline in it, a chunk boundary) are dropped.
_SEQUENCE = re.compile(
    r"""
    (?P<csi>(?:\x1b\[|\x9b)(?P<params>[0-?]*)(?P<inter>[\ -/]*)(?P<final>[@-~]|$))
    | (?P<string>(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$))
    | (?P<esc>\x1b[\ -/]*(?:[0-~]|$))
    | (?P<ctl>[\x00-\x08\x0b-\x1f\x7f\x80-\x9f])
    """,
    re.VERBOSE | re.DOTALL,
)
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""A line without any of these (tab aside) is shown as it is: the fast path for most lines."""

TAB_WIDTH = 8

# -- SGR -> Rich style -------------------------------------------------------------------------

_ATTR_ON = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 7: "reverse", 9: "strike"}
_ATTR_OFF = {
    22: ("bold", "dim"),
    23: ("italic",),
    24: ("underline",),
    25: ("blink",),
    27: ("reverse",),
    29: ("strike",),
}


@dataclass(slots=True)
class _Pen:
    """The current SGR state while a line is interpreted."""

    fg: Color | None = None
    bg: Color | None = None
    attrs: frozenset[str] = frozenset()

    def style(self) -> Style | None:
        if self.fg is None and self.bg is None and not self.attrs:
            return None
        return _style(self.fg, self.bg, self.attrs)

    def apply(self, params: str) -> None:
        """Apply one SGR parameter string (`1;31`, `38;5;208`, `38:2:1:2:3`, empty = reset)."""
        try:
            codes = [int(p) if p else 0 for p in re.split(r"[;:]", params)] if params else [0]
        except ValueError:
            return
        i = 0
        while i < len(codes):
            code = codes[i]
            i += 1
            if code == 0:
                self.fg, self.bg, self.attrs = None, None, frozenset()
            elif code in _ATTR_ON:
                self.attrs = self.attrs | {_ATTR_ON[code]}
            elif code in _ATTR_OFF:
                self.attrs = self.attrs - set(_ATTR_OFF[code])
            elif 30 <= code <= 37:
                self.fg = Color.from_ansi(code - 30)
            elif 90 <= code <= 97:
                self.fg = Color.from_ansi(code - 90 + 8)
            elif 40 <= code <= 47:
                self.bg = Color.from_ansi(code - 40)
            elif 100 <= code <= 107:
                self.bg = Color.from_ansi(code - 100 + 8)
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48) and i < len(codes):
                color, i = _extended_color(codes, i)
                if code == 38:
                    self.fg = color
                else:
                    self.bg = color


def _extended_color(codes: list[int], i: int) -> tuple[Color | None, int]:
    """Read `5;n` or `2;r;g;b` after a 38/48; returns the colour and the next index."""
    mode = codes[i]
    if mode == 5 and i + 1 < len(codes):
        return Color.from_ansi(max(0, min(255, codes[i + 1]))), i + 2
    if mode == 2 and i + 3 < len(codes):
        r, g, b = (max(0, min(255, c)) for c in codes[i + 1 : i + 4])
        return Color.from_rgb(r, g, b), i + 4
    return None, len(codes)


@lru_cache(maxsize=1024)
def _style(fg: Color | None, bg: Color | None, attrs: frozenset[str]) -> Style:
    return Style(color=fg, bgcolor=bg, **{name: True for name in attrs})


# -- one line ----------------------------------------------------------------------------------


def _interpret(line: str) -> tuple[list[str], list[Style | None]]:
    """Play one line into a row of cells: what a terminal shows after printing it."""
    cells: list[str] = []
    styles: list[Style | None] = []
    pen = _Pen()
    col = 0

    def put(text: str) -> None:
        nonlocal col
        style = pen.style()
        for char in text:
            if char == "\t":
                stop = (col // TAB_WIDTH + 1) * TAB_WIDTH
                while col < stop:
                    put_char(" ", style)
                continue
            put_char(char, style)

    def put_char(char: str, style: Style | None) -> None:
        nonlocal col
        if col < len(cells):
            cells[col] = char
            styles[col] = style
        else:
            while len(cells) < col:  # cursor moved right past the end: fill with blanks
                cells.append(" ")
                styles.append(None)
            cells.append(char)
            styles.append(style)
        col += 1

    pos = 0
    for match in _SEQUENCE.finditer(line):
        if match.start() > pos:
            put(line[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        if kind == "csi":
            col = _csi(match, pen, cells, styles, col)
        elif kind == "ctl":
            char = match.group()
            if char == "\r":
                col = 0
            elif char == "\b":
                col = max(0, col - 1)
        # OSC/DCS/other escapes: no visible effect in a transcript
    if pos < len(line):
        put(line[pos:])
    return cells, styles


def _csi(
    match: re.Match[str], pen: _Pen, cells: list[str], styles: list[Style | None], col: int
) -> int:
    """Apply the CSI sequences that matter inside one line; returns the new cursor column."""
    final, params, inter = match.group("final"), match.group("params"), match.group("inter")
    if inter or (params[:1] in ("?", ">", "<", "=")):
        return col  # private modes (cursor keys, bracketed paste, alt screen): nothing to draw
    first = params.split(";")[0]
    n = int(first) if first.isdigit() else 0
    if final == "m":
        pen.apply(params)
    elif final == "K":  # erase in line
        if n == 0:
            del cells[col:], styles[col:]
        elif n == 1:
            for i in range(min(col + 1, len(cells))):
                cells[i], styles[i] = " ", None
        elif n == 2:
            cells.clear()
            styles.clear()
    elif final == "C":
        col += max(1, n)
    elif final == "D":
        col = max(0, col - max(1, n))
    elif final == "G":
        col = max(0, n - 1)
    elif final == "P":  # delete characters
        del cells[col : col + max(1, n)], styles[col : col + max(1, n)]
    elif final == "@":  # insert blanks
        count = max(1, n)
        cells[col:col] = [" "] * count
        styles[col:col] = [None] * count
    elif final == "X":  # erase characters
        for i in range(col, min(col + max(1, n), len(cells))):
            cells[i], styles[i] = " ", None
    return col


def render_line(line: str) -> Text:
    """One transcript line as it looked in the terminal, as a Rich `Text` (never markup)."""
    line = line.rstrip("\r")
    if not _NEEDS_WORK.search(line):
        return Text(line.expandtabs(TAB_WIDTH), no_wrap=True, end="")
    cells, styles = _interpret(line)
    text = Text(no_wrap=True, end="")
    if not cells:
        return text
    run_start = 0
    for i in range(1, len(cells) + 1):
        if i == len(cells) or styles[i] is not styles[run_start]:
            text.append("".join(cells[run_start:i]), styles[run_start])
            run_start = i
    return text


def plain_line(line: str) -> str:
    """One transcript line as plain text: what `render_line` shows, without styles."""
    line = line.rstrip("\r")
    if not _NEEDS_WORK.search(line):
        return line.expandtabs(TAB_WIDTH)
    cells, _ = _interpret(line)
    return "".join(cells)


_VISIBLE = {i: chr(0x2400 + i) for i in range(0x20)} | {0x7F: "\u2421"}
_VISIBLE.update({i: f"\\x{i:02x}" for i in range(0x80, 0xA0)})
_VISIBLE.pop(0x09)  # keep tabs as tabs (expanded below)


def visible_line(line: str) -> str:
    """One line with every control character shown as a symbol: `␛]0;evil␇` (the raw view)."""
    return line.rstrip("\r").translate(_VISIBLE).expandtabs(TAB_WIDTH)


def plain_text(data: str) -> str:
    """A whole transcript as plain text (the CLI and "save to file")."""
    return "\n".join(plain_line(line) for line in data.split("\n"))


# -- events as AWS stores them -----------------------------------------------------------------


def event_text(message: str) -> str:
    """The terminal output inside one CloudWatch event.

    Session Manager writes either raw output (logging at the end of a session) or, with
    `cloudWatchStreamingEnabled`, one JSON object per event whose `sessionData` list holds the
    output (a piece of the stream, kept as is). Any other event is one line of output.
    """
    if message.startswith("{") and '"sessionData"' in message:
        try:
            data = json.loads(message)
        except ValueError:
            return message
        parts = data.get("sessionData") if isinstance(data, dict) else None
        if isinstance(parts, list):
            return "".join(str(p) for p in parts)
    # a plain event is one line of output (the sandbox keeps the newline, AWS may not)
    return message if message.endswith("\n") else message + "\n"


# -- the document ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchHit:
    """Where a search matched: line index and character span in the plain line."""

    line: int
    start: int
    end: int


class TranscriptDocument:
    """The lines of one transcript, growing as pages arrive.

    Pages break anywhere (inside a line, inside a UTF-8 sequence for S3 byte ranges), so the last
    line stays open until more text or `finish()` arrives. Plain-text forms are computed on
    demand and cached, because a large transcript is mostly never looked at.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        """Raw lines (without "\\n"), the last one possibly still growing."""
        self.times: list[float | None] = []
        """Epoch seconds of the event that began each line (None for S3 objects)."""
        self.byte_count = 0
        """Characters received so far (for the status line)."""
        self.complete = False
        """True once the source said there is nothing more (a followed stream may reopen it)."""
        self.max_width = 0
        """Widest line seen, in characters (the viewer's virtual width)."""
        self._open = False
        self._plain: dict[int, str] = {}
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __len__(self) -> int:
        return len(self.lines)

    def feed_bytes(self, data: bytes, *, final: bool = False) -> None:
        """Add raw bytes (S3 ranges); a UTF-8 sequence split across ranges is kept whole."""
        self.feed(self._decoder.decode(data, final), None)

    def feed(self, text: str, timestamp: float | None) -> None:
        """Add decoded output that began at `timestamp` (epoch seconds, or None)."""
        if not text:
            return
        self.byte_count += len(text)
        parts = text.split("\n")
        ended = parts[-1] == ""
        if ended:
            parts.pop()  # "a\n" ends line "a"; the next text starts a new line
        for i, part in enumerate(parts):
            if i == 0 and self._open and self.lines:
                last = len(self.lines) - 1
                self.lines[last] += part
                self._plain.pop(last, None)
                self.max_width = max(self.max_width, len(self.lines[last]))
                continue
            self.lines.append(part)
            self.times.append(timestamp)
            if len(part) > self.max_width:
                self.max_width = len(part)
        self._open = not ended

    def finish(self) -> None:
        """The source has no more pages (for now)."""
        tail = self._decoder.decode(b"", True)
        if tail:
            self.feed(tail, None)
        self.complete = True

    def plain(self, index: int) -> str:
        """The plain text of one line (cached)."""
        cached = self._plain.get(index)
        if cached is None:
            cached = plain_line(self.lines[index])
            self._plain[index] = cached
        return cached

    def search(self, needle: str, start: int = 0, *, backwards: bool = False) -> SearchHit | None:
        """The next line (from `start`, wrapping never) whose plain text holds `needle`."""
        if not needle:
            return None
        folded = needle.casefold()
        indices: Iterable[int] = (
            range(min(start, len(self.lines) - 1), -1, -1)
            if backwards
            else range(max(start, 0), len(self.lines))
        )
        for index in indices:
            raw = self.lines[index]
            if folded not in raw.casefold() and not _NEEDS_WORK.search(raw):
                continue  # fast reject: a plain line without the needle cannot match
            found = self.plain(index).casefold().find(folded)
            if found >= 0:
                return SearchHit(index, found, found + len(needle))
        return None

    def line_at_time(self, when: datetime) -> int | None:
        """The first line written at or after `when`; None if the transcript has no times."""
        stamps = [t for t in self.times if t is not None]
        if not stamps:
            return None
        target = when.timestamp()
        # times are non-decreasing in a log stream; unknown times inherit the previous one
        filled: list[float] = []
        last = stamps[0]
        for t in self.times:
            last = t if t is not None else last
            filled.append(last)
        index = bisect_left(filled, target)
        return min(index, len(self.lines) - 1)

    def forget_before(self, index: int) -> None:
        """Drop the first `index` lines (a printer that streamed them needs them no more)."""
        if index <= 0:
            return
        del self.lines[:index]
        del self.times[:index]
        self._plain = {i - index: text for i, text in self._plain.items() if i >= index}

    def iter_plain(self) -> Iterator[str]:
        """Every line as plain text (saving to a file)."""
        for index in range(len(self.lines)):
            yield self.plain(index)
