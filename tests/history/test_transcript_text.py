"""The transcript text layer: what a terminal would show, and nothing it must not obey."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssm_tui.term.transcript import (
    TranscriptDocument,
    event_text,
    plain_line,
    plain_text,
    render_line,
    visible_line,
)

EVIL = "\x1b]0;evil\x07\x1b[2J[red]markup[/red] \x9b2J\x1bP+q\x1b\\done"


def test_evil_line_renders_literally_without_control_characters() -> None:
    text = render_line(EVIL)
    assert text.plain == "[red]markup[/red] done"
    assert not text.spans  # no style came from the OSC, the clear or the "markup"
    assert "\x1b" not in text.plain and "\x07" not in text.plain


def test_raw_view_shows_the_escapes_as_symbols() -> None:
    shown = visible_line("\x1b]0;evil\x07\x1b[2J[red]markup\r")
    assert shown == "␛]0;evil␇␛[2J[red]markup"


def test_carriage_return_backspace_and_erase_play_like_a_terminal() -> None:
    assert plain_line("progress 10%\rprogress 100%\r") == "progress 100%"
    assert plain_line("abc\rX") == "Xbc"
    assert plain_line("abcd\b\b\x1b[K!") == "ab!"
    assert plain_line("prompt$ lss\b\x1b[K -l") == "prompt$ ls -l"
    assert plain_line("a\tb") == "a       b"


def test_colours_become_styles_not_text() -> None:
    text = render_line("\x1b[1;31mERR\x1b[0m ok \x1b[38;5;208mX\x1b[38;2;1;2;3mY\x1b[m")
    assert text.plain == "ERR ok XY"
    styles = {text.plain[s.start : s.end]: s.style for s in text.spans}
    assert styles["ERR"].bold and styles["ERR"].color.number == 1
    assert styles["X"].color.number == 208
    assert styles["Y"].color.triplet == (1, 2, 3)


@given(st.text(alphabet=st.sampled_from(list("ab[]/\x1b\x07\x9b\x90\x9c\\;0123m]PK\r\b\t "))))
def test_no_control_character_ever_survives_rendering(line: str) -> None:
    plain = render_line(line).plain
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in plain)


def test_document_joins_chunks_split_anywhere() -> None:
    doc = TranscriptDocument()
    doc.feed("first li", 1.0)
    doc.feed("ne\r\nsecond\r\nthi", 2.0)
    doc.feed("rd", 3.0)
    doc.finish()
    assert [doc.plain(i) for i in range(len(doc))] == ["first line", "second", "third"]
    assert list(doc.times) == [1.0, 2.0, 2.0]


def test_document_keeps_utf8_split_across_byte_ranges() -> None:
    data = "naïve 日本語 ✓\n".encode()
    doc = TranscriptDocument()
    for i in range(len(data)):  # one byte at a time: every split point
        doc.feed_bytes(data[i : i + 1])
    doc.finish()
    assert list(doc.lines) == ["naïve 日本語 ✓"]


def test_search_forward_backward_and_case() -> None:
    doc = TranscriptDocument()
    doc.feed("alpha\nBeta\n\x1b[31mbeta\x1b[0m\ngamma\n", None)
    first = doc.search("BETA")
    assert first is not None and (first.line, first.start) == (1, 0)
    second = doc.search("beta", first.line + 1)
    assert second is not None and second.line == 2 and second.start == 0  # escapes not counted
    assert doc.search("beta", 3, backwards=True).line == 2
    assert doc.search("delta") is None


def test_line_at_time() -> None:
    doc = TranscriptDocument()
    for second, text in ((10, "a\n"), (20, "b\n"), (30, "c\n")):
        doc.feed(text, float(second))
    assert doc.line_at_time(datetime.fromtimestamp(15, UTC)) == 1
    assert doc.line_at_time(datetime.fromtimestamp(99, UTC)) == 2


def test_event_text_reads_plain_and_streaming_events() -> None:
    assert event_text("ls -l\r\n") == "ls -l\r\n"
    assert event_text("a line without newline") == "a line without newline\n"
    streamed = '{"eventVersion":"1.0","sessionData":["$ ls\\r\\n","file\\r\\n"]}'
    assert event_text(streamed) == "$ ls\r\nfile\r\n"


def test_plain_text_of_a_whole_transcript() -> None:
    assert plain_text("$ echo hi\r\nhi\r\n\x1b]0;t\x07$ ") == "$ echo hi\nhi\n$ "


def test_forget_before_keeps_the_open_line() -> None:
    doc = TranscriptDocument()
    doc.feed("a\nb\npart", 1.0)
    doc.forget_before(2)
    doc.feed("ial\n", 2.0)
    assert list(doc.lines) == ["partial"] and list(doc.times) == [1.0]


def test_document_matches_a_plain_split_whatever_the_chunking() -> None:
    """The spooled document gives back exactly the lines and times a list would hold."""
    import random

    rng = random.Random(7)
    text = "".join(f"{'é' * rng.randrange(3)}line {i}\x1b[1m{'x' * rng.randrange(200)}\r\n"
                   for i in range(3000))  # fmt: skip
    doc = TranscriptDocument()
    expected_times: list[float] = []
    pos, stamp, open_line = 0, 0.0, False
    while pos < len(text):
        size = rng.randrange(1, 700)
        piece = text[pos : pos + size]
        stamp += 1
        starts = piece.count("\n") - (0 if piece.endswith("\n") else -1) - open_line
        expected_times += [stamp] * max(starts, 0)
        open_line = not piece.endswith("\n")
        doc.feed(piece, stamp)
        pos += size
    doc.finish()
    lines = text.split("\n")[:-1]
    assert len(doc) == len(lines) == 3000
    assert list(doc.lines) == lines
    assert [doc.lines[i] for i in (2999, 0, 64, 63, 1500)] == [
        lines[i] for i in (2999, 0, 64, 63, 1500)
    ]
    assert list(doc.times) == expected_times
    assert doc.search("line 2999").line == 2999
    assert doc.search("line 12", 2000, backwards=True).line == 1299


@pytest.mark.slow
def test_document_memory_stays_flat_whatever_the_size() -> None:
    """`seq 1 3000000` (24.7 MB) used to hold 270 MB of Python strings; now a sparse index."""
    import tracemalloc

    doc = TranscriptDocument()
    tracemalloc.start()
    try:
        for start in range(1, 1_000_001, 10_000):
            doc.feed("".join(f"{i}\r\n" for i in range(start, start + 10_000)), float(start))
        doc.finish()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(doc) == 1_000_000 and doc.plain(999_999) == "1000000"
    assert held < 4 * 2**20
    doc.close()
