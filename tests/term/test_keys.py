"""Key names (as Textual reports them) to xterm bytes."""

from __future__ import annotations

import pytest

from ssm_tui.term.keys import encode_key


@pytest.mark.parametrize(
    ("key", "character", "app_cursor", "expected"),
    [
        ("a", "a", False, b"a"),
        ("A", "A", False, b"A"),
        ("é", "é", False, "é".encode()),
        ("enter", "\r", False, b"\r"),
        ("tab", "\t", False, b"\t"),
        ("shift+tab", None, False, b"\x1b[Z"),
        ("escape", "\x1b", False, b"\x1b"),
        ("backspace", "\x08", False, b"\x7f"),
        ("space", " ", False, b" "),
        ("ctrl+c", "\x03", False, b"\x03"),
        ("ctrl+c", None, False, b"\x03"),
        ("ctrl+z", None, False, b"\x1a"),
        ("ctrl+d", None, False, b"\x04"),
        ("ctrl+backslash", None, False, b"\x1c"),
        ("ctrl+right_square_bracket", None, False, b"\x1d"),
        ("ctrl+at", None, False, b"\x00"),
        ("up", None, False, b"\x1b[A"),
        ("up", None, True, b"\x1bOA"),
        ("left", None, True, b"\x1bOD"),
        ("shift+up", None, True, b"\x1b[1;2A"),
        ("ctrl+right", None, False, b"\x1b[1;5C"),
        ("home", None, False, b"\x1b[H"),
        ("end", None, True, b"\x1bOF"),
        ("pageup", None, False, b"\x1b[5~"),
        ("delete", None, False, b"\x1b[3~"),
        ("ctrl+delete", None, False, b"\x1b[3;5~"),
        ("f1", None, False, b"\x1bOP"),
        ("f5", None, False, b"\x1b[15~"),
        ("shift+f12", None, False, b"\x1b[24;2~"),
        ("alt+x", "x", False, b"\x1bx"),
        ("alt+ctrl+a", None, False, b"\x1b\x01"),
        ("unknown_key", None, False, None),
    ],
)
def test_encode_key(key: str, character: str | None, app_cursor: bool, expected: bytes) -> None:
    assert encode_key(key, character, app_cursor) == expected
