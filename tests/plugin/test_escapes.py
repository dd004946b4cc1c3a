"""The `~` escapes of the newest official plugin, as a state machine over keyboard reads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_tui.plugin.escapes import DISABLED, HELP, TERMINATE, EscapeFilter


def test_plain_typing_and_a_tilde_not_after_a_newline_pass_through() -> None:
    keys = EscapeFilter()
    assert keys.feed(b"hello ~.").send == b"hello ~."
    assert keys.feed(b"~").send == b"~"


def test_help_after_a_newline_is_local_in_one_read_or_several() -> None:
    keys = EscapeFilter()
    result = keys.feed(b"ls\r~?")
    assert result.send == b"ls\r" and result.actions == [HELP]
    assert keys.feed(b"\n").send == b"\n"
    assert keys.feed(b"~").send == b""
    result = keys.feed(b"?")
    assert result.send == b"" and result.actions == [HELP]


def test_double_tilde_sends_one_and_unknown_commands_send_both() -> None:
    keys = EscapeFilter()
    assert keys.feed(b"\r~~x").send == b"\r~x"
    assert keys.feed(b"\r~x").send == b"\r~x"


def test_terminate_drops_what_follows() -> None:
    result = EscapeFilter().feed(b"\n~.rm -rf /\r")
    assert result.send == b"\n" and result.actions == [TERMINATE]


def test_disable_keeps_the_rest_of_the_read_and_stops_escapes() -> None:
    keys = EscapeFilter()
    result = keys.feed(b"\r~-abc")
    assert result.send == b"\rabc" and result.actions == [DISABLED]
    assert keys.feed(b"\r~.").send == b"\r~."


def test_a_filter_that_is_off_changes_nothing() -> None:
    assert EscapeFilter(enabled=False).feed(b"\r~.").send == b"\r~."


def _one_byte_at_a_time(chunks: list[bytes]) -> tuple[bytes, list[str]]:
    """The plugin's rule applied to each byte on its own: what any chunking must give."""
    keys, sent, actions = EscapeFilter(), bytearray(), []
    for chunk in chunks:
        for byte in chunk:
            result = keys.feed(bytes([byte]))
            sent += result.send
            actions += result.actions
            if TERMINATE in result.actions:
                return bytes(sent), actions
    return bytes(sent), actions


@settings(max_examples=300)
@given(st.lists(st.lists(st.sampled_from(b"a~\r\n.?-")).map(bytes), max_size=8))
def test_chunking_never_changes_what_is_sent(chunks: list[bytes]) -> None:
    keys, sent, actions = EscapeFilter(), bytearray(), []
    for chunk in chunks:
        result = keys.feed(chunk)
        sent += result.send
        actions += result.actions
        if TERMINATE in result.actions:
            break
    assert (bytes(sent), actions) == _one_byte_at_a_time(chunks)
