"""The emulator interface, on every backend (avt and the pyte fallback), fed real bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_tui.term.emulator import (
    DEFAULT_STYLE,
    Emulator,
    available_backends,
    cells_text,
    create_emulator,
)

BACKENDS = ["avt", "pyte"]
CAPTURES = Path(__file__).parent / "captures"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def make(backend: str, cols: int = 20, rows: int = 5, scrollback: int = 100) -> Emulator:
    emulator = create_emulator(cols, rows, scrollback, backend=backend)
    assert emulator.backend == backend
    return emulator


def feed_bytewise(emulator: Emulator, data: bytes) -> set[int]:
    changed: set[int] = set()
    for i in range(len(data)):
        changed |= emulator.feed(data[i : i + 1])
    return changed


def test_both_backends_are_installed_and_avt_is_preferred() -> None:
    assert available_backends() == ["avt", "pyte"]
    assert create_emulator(10, 3).backend == "avt"
    with pytest.raises(ValueError, match="unknown terminal emulator backend"):
        create_emulator(10, 3, backend="nope")


def test_satisfies_protocol_and_reports_changed_lines(backend: str) -> None:
    emulator = make(backend)
    assert isinstance(emulator, Emulator)
    assert (emulator.cols, emulator.rows) == (20, 5)
    assert emulator.feed(b"hello") == {0}
    assert emulator.feed(b"\r\n\r\nthird") >= {2}
    assert emulator.text().splitlines()[0] == "hello"
    assert emulator.text().splitlines()[2] == "third"
    assert emulator.cursor == (5, 2, True)
    assert all(len(emulator.line(y)) == 20 for y in range(5))


def test_utf8_and_escapes_split_across_feeds(backend: str) -> None:
    emulator = make(backend)
    changed = feed_bytewise(emulator, "héllo 世界 \x1b[31mré\x1b[0md".encode())
    assert changed == {0}
    assert emulator.text().splitlines()[0] == "héllo 世界 réd"
    cells = [c for c in emulator.line(0) if c.width]
    assert cells[9].text == "r" and cells[9].style.fg == 1
    assert cells[10].text == "é" and cells[10].style.fg == 1
    assert cells[11].text == "d" and cells[11].style == DEFAULT_STYLE


def test_colours_16_256_and_truecolour(backend: str) -> None:
    emulator = make(backend, cols=40)
    emulator.feed(
        b"\x1b[31mA\x1b[91mB\x1b[38;5;196mC\x1b[48;5;21mD\x1b[0m"
        b"\x1b[38;2;10;20;30mE\x1b[48;2;200;100;50mF\x1b[0mG"
    )
    a, b, c, d, e, f, g = emulator.line(0)[:7]
    assert a.style.fg == 1
    assert b.style.fg == 9
    assert c.style.fg in (196, (255, 0, 0))  # pyte stores palette colours as RGB
    assert d.style.bg in (21, (0, 0, 255))
    assert e.style.fg == (10, 20, 30)
    assert f.style.bg == (200, 100, 50)
    assert g.style == DEFAULT_STYLE


def test_text_attributes(backend: str) -> None:
    emulator = make(backend)
    emulator.feed(b"\x1b[1mb\x1b[0;3mi\x1b[0;4mu\x1b[0;7mr\x1b[0;9ms\x1b[0mn")
    b, i, u, r, s, n = emulator.line(0)[:6]
    assert b.style.bold and not b.style.italic
    assert i.style.italic and not i.style.bold
    assert u.style.underline
    assert r.style.reverse
    assert s.style.strike
    assert n.style == DEFAULT_STYLE


def test_wide_characters_take_two_cells(backend: str) -> None:
    emulator = make(backend)
    emulator.feed("世界🙂x".encode())
    cells = emulator.line(0)
    assert [(c.text, c.width) for c in cells[:7]] == [
        ("世", 2),
        ("", 0),
        ("界", 2),
        ("", 0),
        ("🙂", 2),
        ("", 0),
        ("x", 1),
    ]
    assert emulator.cursor.x == 7
    assert cells_text(cells) == "世界🙂x"


def test_alternate_screen_restores_the_main_screen(backend: str) -> None:
    emulator = make(backend)
    emulator.feed(b"shell prompt\r\n$ ")
    emulator.feed(b"\x1b[?1049h\x1b[H\x1b[2Jfull screen app")
    assert emulator.alternate_screen
    assert emulator.text().splitlines()[0] == "full screen app"
    assert "shell prompt" not in emulator.text()
    changed = emulator.feed(b"\x1b[?1049l")
    assert not emulator.alternate_screen
    assert changed  # the whole screen is back
    assert emulator.text().splitlines()[:2] == ["shell prompt", "$"]


def test_scrolling_region_moves_only_its_lines(backend: str) -> None:
    emulator = make(backend)
    emulator.feed(b"top\r\nr1\r\nr2\r\nr3\r\nbottom")
    emulator.feed(b"\x1b[2;4r\x1b[4;1H\nnew")  # scroll lines 2-4 up by one
    assert emulator.text().splitlines() == ["top", "r2", "r3", "new", "bottom"]
    assert emulator.scrollback_len == 0  # a partial region never feeds the scrollback


def test_scrollback_keeps_lines_that_left_the_screen(backend: str) -> None:
    emulator = make(backend, rows=5, scrollback=10)
    emulator.feed(b"".join(b"line %d\r\n" % i for i in range(8)))
    assert emulator.scrollback_len == 4
    assert [cells_text(emulator.scrollback_line(i)) for i in range(4)] == [
        "line 0",
        "line 1",
        "line 2",
        "line 3",
    ]
    emulator.feed(b"".join(b"more %d\r\n" % i for i in range(20)))
    assert emulator.scrollback_len == 10  # bounded
    assert cells_text(emulator.scrollback_line(9)) == "more 15"
    emulator.feed(b"\x1b[?1049h" + b"alt\r\n" * 20)
    assert emulator.scrollback_len == 10  # the alternate screen has no history


def test_resize(backend: str) -> None:
    emulator = make(backend)
    emulator.feed(b"abc")
    emulator.resize(30, 8)
    assert (emulator.cols, emulator.rows) == (30, 8)
    assert all(len(emulator.line(y)) == 30 for y in range(8))
    assert emulator.text().splitlines()[0] == "abc"
    emulator.resize(10, 3)
    assert len(emulator.line(2)) == 10


def test_modes_and_title_from_the_stream(backend: str) -> None:
    emulator = make(backend)
    assert not emulator.bracketed_paste and not emulator.app_cursor_keys
    feed_bytewise(emulator, b"\x1b[?2004h\x1b[?1h\x1b[?1002;1006h\x1b]0;my title\x07")
    assert emulator.bracketed_paste and emulator.app_cursor_keys
    assert emulator.mouse_tracking == 1002 and emulator.mouse_sgr
    assert emulator.title == "my title"
    emulator.feed(b"\x1b]2;other\x1b\\\x1b[?2004l\x1b[?1l\x1b[?1002l")
    assert emulator.title == "other"
    assert not emulator.bracketed_paste and not emulator.app_cursor_keys
    assert emulator.mouse_tracking == 0


def test_cursor_visibility_and_position_report(backend: str) -> None:
    emulator = make(backend)
    emulator.feed(b"\x1b[?25l\x1b[3;5H")
    assert emulator.cursor == (4, 2, False)
    emulator.feed(b"\x1b[6n")
    assert emulator.take_replies() == b"\x1b[3;5R"
    assert emulator.take_replies() == b""
    emulator.feed(b"\x1b[?25h\x1b[c")
    assert emulator.cursor.visible
    assert emulator.take_replies().startswith(b"\x1b[?")


# --- captured output of real programs (tests/term/captures/record.py) ------------------------


class Step:
    """What the screen looked like after one step of a capture (the emulator goes on)."""

    def __init__(self, emulator: Emulator) -> None:
        self.text = emulator.text()
        self.alternate_screen = emulator.alternate_screen
        self.lines = [emulator.line(y) for y in range(emulator.rows)]
        self.cursor = emulator.cursor
        self.scrollback_len = emulator.scrollback_len


def replay(name: str, backend: str, chunk: int | None) -> list[Step]:
    """Feed each step of a capture in ``chunk``-byte pieces (None: whole); the screen after each."""
    capture = json.loads((CAPTURES / f"{name}.json").read_text())
    emulator = create_emulator(capture["cols"], capture["rows"], backend=backend)
    steps = []
    for step in capture["steps"]:
        data = base64.b64decode(step["output"])
        size = chunk or max(len(data), 1)
        for i in range(0, len(data), size):
            emulator.feed(data[i : i + size])
        steps.append(Step(emulator))
    return steps


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_vim_capture(backend: str, chunk: int | None) -> None:
    steps = replay("vim", backend, chunk)
    opened, at_end, after = steps[3], steps[4], steps[5]
    assert opened.alternate_screen
    assert opened.text.splitlines()[0] == "line 001 of the sample file"
    assert '"sample.txt" 100L' in opened.text.splitlines()[-1]
    assert at_end.text.splitlines()[22] == "line 100 of the sample file"
    assert not after.alternate_screen
    assert after.text.splitlines()[:2] == ["$ echo before vim", "before vim"]
    assert "sample file" not in after.text


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_less_capture(backend: str, chunk: int | None) -> None:
    steps = replay("less", backend, chunk)
    assert steps[3].alternate_screen
    assert steps[3].text.splitlines()[0] == "line 001 of the sample file"
    assert steps[4].text.splitlines()[0] == "line 024 of the sample file"
    assert not steps[5].alternate_screen
    assert steps[5].text.splitlines()[1] == "before less"


def test_top_capture(backend: str) -> None:
    screen = replay("top", backend, 64)[3]
    lines = screen.text.splitlines()
    assert lines[0].startswith("top - ")
    assert any(line.split()[:2] == ["PID", "USER"] for line in lines)
    assert not screen.cursor.visible
    header = next(line for line in screen.lines if cells_text(line).lstrip().startswith("PID"))
    assert any(c.style.reverse for c in header)  # top draws its column header in reverse


def test_coloured_ls_capture(backend: str) -> None:
    steps = replay("ls", backend, 5)
    listing = steps[2].lines[1]
    by_text = {}
    word = ""
    for cell in listing:
        if cell.text.strip():
            word += cell.text
            by_text.setdefault(word, cell.style)
        else:
            word = ""
    assert by_text["alpha"].fg == 4 and by_text["alpha"].bold  # directories: bold blue
    assert by_text["run.sh"].fg == 2  # executables: green
    assert by_text["sample.txt"] == DEFAULT_STYLE
    assert steps[3].scrollback_len > 0  # seq 1 60 scrolled the screen


@pytest.mark.parametrize("name", ["vim", "less", "top", "ls"])
def test_backends_agree_on_every_capture(name: str) -> None:
    avt_states = replay(name, "avt", 13)
    pyte_states = replay(name, "pyte", None)
    for avt_step, pyte_step in zip(avt_states, pyte_states, strict=True):
        assert avt_step.text == pyte_step.text
        assert avt_step.cursor == pyte_step.cursor
        assert avt_step.alternate_screen == pyte_step.alternate_screen


_PIECES = [
    b"a",
    b"xyz ",
    "é世🙂".encode(),
    b"\r\n",
    b"\x1b[31m",
    b"\x1b[38;5;200m",
    b"\x1b[0m",
    b"\x1b[2;3H",
    b"\x1b[K",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[?2004h",
    b"\x1b[?1h",
    b"\x1b]0;t\x07",
    b"\x1b[1;4r",
]


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=20),
    backend=st.sampled_from(BACKENDS),
)
def test_any_split_of_the_stream_gives_the_same_screen(
    pieces: list[bytes], cuts: list[int], backend: str
) -> None:
    data = b"".join(pieces)
    whole = make(backend, cols=12, rows=4)
    whole.feed(data)
    split = make(backend, cols=12, rows=4)
    i = 0
    for n in cuts * (len(data) // max(sum(cuts), 1) + 1):
        split.feed(data[i : i + n])
        i += n
    split.feed(data[i:])
    assert split.text() == whole.text()
    assert [split.line(y) for y in range(4)] == [whole.line(y) for y in range(4)]
    assert split.cursor == whole.cursor
    assert (split.alternate_screen, split.bracketed_paste, split.app_cursor_keys, split.title) == (
        whole.alternate_screen,
        whole.bracketed_paste,
        whole.app_cursor_keys,
        whole.title,
    )


def test_scrollback_pushed_keeps_counting_past_the_limit(backend: str) -> None:
    emulator = make(backend, rows=5, scrollback=10)
    emulator.feed(b"".join(b"line %d\r\n" % i for i in range(30)))
    assert emulator.scrollback_len == 10
    assert emulator.scrollback_pushed == 26
