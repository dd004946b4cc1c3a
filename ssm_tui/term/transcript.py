"""Turn a session transcript (raw terminal output from AWS) into safe, displayable lines.

A transcript is whatever the remote shell wrote: colours, cursor moves, window-title OSCs, screen
clears, and any text an attacker put on the instance. None of it may reach the user's terminal or
be parsed as Rich/Textual markup. So this module is the single place that reads those bytes:

- `TranscriptDocument` holds the lines of a transcript as it streams in page by page (chunks do
  not end on line boundaries) with the timestamp of the event that began each line, so the viewer
  can jump to a time and the CLI can print as it follows. The lines live in an unlinked spool
  file with a sparse index of offsets: memory stays the same whatever the transcript's size
  (24.7 MB of `seq 1 3000000` used to take 741 MB as Python strings).
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
import math
import re
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

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
    flags: dict[str, Any] = {name: True for name in attrs}  # bold, italic, ... (Style's keywords)
    return Style(color=fg, bgcolor=bg, **flags)


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


BLOCK_LINES = 64
"""Lines per indexed block of the spool: one offset (8 bytes) per 64 lines is all the index
holds; a line is read by reading its block."""
CACHED_BLOCKS = 64
"""Decoded blocks kept (4,096 lines: a few screens either way stay in memory)."""
CACHED_PLAIN = 4096
"""Plain-text forms kept (search and the CLI compute them line by line)."""
_ENCODING = ("utf-8", "surrogatepass")
"""Text from CloudWatch may hold lone surrogates (JSON `\\ud800`): stored as they are."""


T = TypeVar("T")


class _DocumentView(Sequence[T]):
    """A read-only sequence over one per-line value of a document, fetched on demand."""

    def __init__(
        self,
        document: TranscriptDocument,
        item: Callable[[int], T],
        iterate: Callable[[], Iterator[T]] | None = None,
    ) -> None:
        self._document = document
        self._item = item
        self._iterate = iterate

    def __len__(self) -> int:
        return len(self._document)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)

    def __iter__(self) -> Iterator[T]:
        if self._iterate is not None:
            return self._iterate()  # one pass over the spool, not a block read per line
        return (self._item(i) for i in range(len(self)))


class TranscriptDocument:
    """The lines of one transcript, growing as pages arrive, in bounded memory.

    Pages break anywhere (inside a line, inside a UTF-8 sequence for S3 byte ranges), so the last
    line stays open (in memory) until more text or `finish()` arrives. Complete lines go to an
    unlinked temporary file; memory holds one offset per `BLOCK_LINES` lines, one time per run
    of lines that share an event time, and small caches of decoded blocks and plain forms.
    """

    def __init__(self) -> None:
        self.lines: Sequence[str] = _DocumentView(self, self.line, self.iter_lines)
        """Raw lines (without "\\n"), the last one possibly still growing."""
        self.times: Sequence[float | None] = _DocumentView(self, self.time_of)
        """Each line's event time, from runs of equal times."""
        """Epoch seconds of the event that began each line (None for S3 objects)."""
        self.byte_count = 0
        """Characters received so far (for the status line)."""
        self.complete = False
        """True once the source said there is nothing more (a followed stream may reopen it)."""
        self.max_width = 0
        """Widest line seen, in characters (the viewer's virtual width)."""
        self._spool: Any = None
        self._size = 0  # bytes in the spool
        self._closed = 0  # complete lines in the spool
        self._block_offsets = array("q")  # spool offset of lines 0, 64, 128, …
        self._tail: str | None = None  # the open last line, None when the last line ended
        self._tail_time: float | None = None
        self._run_starts = array("q")  # first line of each run of equal times
        self._run_times = array("d")  # their time (NaN: none)
        self._blocks: OrderedDict[int, list[str]] = OrderedDict()
        self._plain: OrderedDict[int, str] = OrderedDict()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __len__(self) -> int:
        return self._closed + (self._tail is not None)

    # -- writing ---------------------------------------------------------------------------

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
        continued = self._tail is not None
        tail_time = timestamp
        if continued:
            parts[0] = f"{self._tail}{parts[0]}"  # the open line goes on; it keeps its time
            self._plain.pop(self._closed, None)
            tail_time = self._tail_time
            self._tail = None
        if len(parts) > continued:  # lines that begin now take this time
            self._note_time(self._closed + continued, timestamp)
            tail_time = timestamp if len(parts) > 1 or not continued else tail_time
        self.max_width = max(self.max_width, max(map(len, parts)))
        if not ended:
            self._tail = parts.pop()
            self._tail_time = tail_time
        self._append(parts)

    def _note_time(self, index: int, timestamp: float | None) -> None:
        value = math.nan if timestamp is None else float(timestamp)
        if self._run_times:
            last = self._run_times[-1]
            if last == value or (math.isnan(last) and math.isnan(value)):
                return
        self._run_starts.append(index)
        self._run_times.append(value)

    def _append(self, lines: list[str]) -> None:
        if not lines:
            return
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="ssm-tui-transcript-")
        spool = self._spool
        spool.seek(self._size)
        offset = self._size
        self._blocks.pop(len(self._block_offsets) - 1, None)  # the last block may grow
        first = -self._closed % BLOCK_LINES  # lines that still fit the last block
        chunks = [lines[:first]] if first else []
        chunks += [lines[i : i + BLOCK_LINES] for i in range(first, len(lines), BLOCK_LINES)]
        for chunk in chunks:
            if self._closed % BLOCK_LINES == 0:
                self._block_offsets.append(offset)
            data = "\n".join(chunk).encode(*_ENCODING) + b"\n"
            spool.write(data)
            offset += len(data)
            self._closed += len(chunk)
        self._size = offset

    def finish(self) -> None:
        """The source has no more pages (for now)."""
        tail = self._decoder.decode(b"", True)
        if tail:
            self.feed(tail, None)
        self.complete = True

    # -- reading ---------------------------------------------------------------------------

    def _block(self, number: int) -> list[str]:
        cached = self._blocks.get(number)
        if cached is not None:
            self._blocks.move_to_end(number)
            return cached
        start = self._block_offsets[number]
        end = (
            self._block_offsets[number + 1] if number + 1 < len(self._block_offsets) else self._size
        )
        self._spool.seek(start)
        data = self._spool.read(end - start)
        lines = data.decode(*_ENCODING).split("\n")[:-1]
        self._blocks[number] = lines
        if len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return lines

    def line(self, index: int) -> str:
        """The raw line at `index` (0 ≤ index < len)."""
        if index >= self._closed:
            if index == self._closed and self._tail is not None:
                return self._tail
            raise IndexError(index)
        return self._block(index // BLOCK_LINES)[index % BLOCK_LINES]

    def iter_lines(self, start: int = 0) -> Iterator[str]:
        """Every raw line from `start`, read straight through (no cache churn)."""
        index = max(start, 0)
        while index < self._closed:
            number = index // BLOCK_LINES
            block = self._blocks.get(number) or self._read_block_uncached(number)
            for line in block[index % BLOCK_LINES :]:
                yield line
                index += 1
        if self._tail is not None and index == self._closed:
            yield self._tail

    def _read_block_uncached(self, number: int) -> list[str]:
        start = self._block_offsets[number]
        end = (
            self._block_offsets[number + 1] if number + 1 < len(self._block_offsets) else self._size
        )
        self._spool.seek(start)
        return self._spool.read(end - start).decode(*_ENCODING).split("\n")[:-1]

    def time_of(self, index: int) -> float | None:
        """The time of the event that began line `index` (None: unknown)."""
        run = bisect_right(self._run_starts, index) - 1
        if run < 0:
            return None
        value = self._run_times[run]
        return None if math.isnan(value) else value

    def first_time(self) -> float | None:
        """The earliest known time (None if the transcript has none)."""
        return next((t for t in self._run_times if not math.isnan(t)), None)

    def last_time(self) -> float | None:
        return next((t for t in reversed(self._run_times) if not math.isnan(t)), None)

    def plain(self, index: int) -> str:
        """The plain text of one line (cached)."""
        cached = self._plain.get(index)
        if cached is None:
            cached = plain_line(self.line(index))
            self._plain[index] = cached
            if len(self._plain) > CACHED_PLAIN:
                self._plain.popitem(last=False)
        return cached

    def search(self, needle: str, start: int = 0, *, backwards: bool = False) -> SearchHit | None:
        """The next line (from `start`, wrapping never) whose plain text holds `needle`."""
        if not needle or not len(self):
            return None
        folded = needle.casefold()
        if backwards:
            for index in range(min(start, len(self) - 1), -1, -1):
                hit = self._match(index, self.line(index), folded, len(needle))
                if hit is not None:
                    return hit
            return None
        for index, raw in enumerate(self.iter_lines(start), max(start, 0)):
            hit = self._match(index, raw, folded, len(needle))
            if hit is not None:
                return hit
        return None

    def _match(self, index: int, raw: str, folded: str, size: int) -> SearchHit | None:
        if folded not in raw.casefold() and not _NEEDS_WORK.search(raw):
            return None  # fast reject: a plain line without the needle cannot match
        found = plain_line(raw).casefold().find(folded)
        return SearchHit(index, found, found + size) if found >= 0 else None

    def line_at_time(self, when: datetime) -> int | None:
        """The first line written at or after `when`; None if the transcript has no times."""
        if self.first_time() is None:
            return None
        target = when.timestamp()
        # times are non-decreasing in a log stream; unknown times inherit the previous one
        filled: list[float] = []
        last = self.first_time() or 0.0
        for value in self._run_times:
            last = last if math.isnan(value) else value
            filled.append(last)
        run = bisect_left(filled, target)
        if run >= len(filled):
            return max(len(self) - 1, 0)
        return min(self._run_starts[run], max(len(self) - 1, 0))

    def forget_before(self, index: int) -> None:
        """Drop the first `index` lines (a printer that streamed them needs them no more)."""
        if index <= 0:
            return
        keep = list(self.iter_lines(index))
        tail, tail_time = self._tail, self._tail_time
        if tail is not None and keep and index <= self._closed:
            keep.pop()
        times = [self.time_of(i) for i in range(index, index + len(keep))]
        if self._spool is not None:
            self._spool.truncate(0)
        self._size = self._closed = 0
        self._block_offsets = array("q")
        self._run_starts, self._run_times = array("q"), array("d")
        self._blocks.clear()
        self._plain.clear()
        for i, stamp in enumerate(times):
            self._note_time(i, stamp)
        self._append(keep)
        self._tail, self._tail_time = tail, tail_time
        if tail is not None:
            self._note_time(len(keep), tail_time)

    def iter_plain(self) -> Iterator[str]:
        """Every line as plain text (saving to a file)."""
        for raw in self.iter_lines():
            yield plain_line(raw)

    def close(self) -> None:
        """Release the spool file (also done when the document is collected)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()
