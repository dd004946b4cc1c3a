"""The data-channel codec: exact wire layout, round trips, and no crash on hostile frames."""

from __future__ import annotations

import hashlib
import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_tui.plugin import messages as m

MESSAGE_TYPES = st.sampled_from(
    [m.INPUT_STREAM_DATA, m.OUTPUT_STREAM_DATA, m.ACKNOWLEDGE, m.CHANNEL_CLOSED]
)

messages = st.builds(
    m.ClientMessage,
    message_type=MESSAGE_TYPES,
    schema_version=st.integers(0, 2**32 - 1),
    created_date=st.integers(1, 2**64 - 1),
    sequence_number=st.integers(-(2**63), 2**63 - 1),
    flags=st.integers(0, 2**64 - 1),
    message_id=st.uuids(),
    payload_type=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=3000),
)


def test_layout_matches_the_reference() -> None:
    msg = m.ClientMessage(
        message_type="input_stream_data",
        created_date=1_700_000_000_123,
        sequence_number=7,
        flags=0,
        message_id=uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"),
        payload_type=m.PayloadType.OUTPUT,
        payload=b"ls\r",
    )
    frame = m.encode(msg)
    assert len(frame) == 123
    assert frame[0:4] == struct.pack(">I", 116)
    assert frame[4:36] == b"input_stream_data".ljust(32, b" ")
    assert frame[36:40] == b"\x00\x00\x00\x01"
    assert struct.unpack(">Q", frame[40:48])[0] == 1_700_000_000_123
    assert struct.unpack(">q", frame[48:56])[0] == 7
    assert frame[64:80] == bytes.fromhex("8899aabbccddeeff0011223344556677")
    assert frame[80:112] == hashlib.sha256(b"ls\r").digest()
    assert struct.unpack(">II", frame[112:120]) == (1, 3)
    assert frame[120:] == b"ls\r"


def test_one_keystroke_and_ack_have_the_observed_sizes() -> None:
    key = m.encode(m.stream_message(m.INPUT_STREAM_DATA, 0, m.PayloadType.OUTPUT, b"a"))
    assert len(key) == 121
    out = m.ClientMessage(m.OUTPUT_STREAM_DATA, sequence_number=123, payload=b"x")
    ack = m.make_ack(out)
    assert ack.flags == 3 and ack.sequence_number == 0 and ack.payload_type == 0
    assert m.parse_ack(m.decode(m.encode(ack)).payload) == 123
    assert str(out.message_id) in ack.payload.decode()


@given(messages)
@settings(max_examples=300)
def test_round_trip(msg: m.ClientMessage) -> None:
    assert m.decode(m.encode(msg)) == msg


def test_reader_accepts_nul_padding_and_longer_header() -> None:
    frame = bytearray(m.encode(m.ClientMessage(m.OUTPUT_STREAM_DATA, payload=b"hi")))
    frame[4:36] = b"output_stream_data".ljust(32, b"\x00")
    assert m.decode(bytes(frame)).message_type == m.OUTPUT_STREAM_DATA


@given(messages, st.data())
def test_truncated_frames_raise_a_clear_error(msg: m.ClientMessage, data: st.DataObject) -> None:
    frame = m.encode(msg)
    cut = data.draw(st.integers(0, len(frame) - 1))
    with pytest.raises(m.MessageDecodeError) as err:
        m.decode(frame[:cut])
    assert str(err.value)


@given(st.binary(max_size=400))
@settings(max_examples=500)
def test_garbage_never_crashes(frame: bytes) -> None:
    try:
        msg = m.decode(frame)
    except m.MessageDecodeError as err:
        assert str(err)
    else:
        assert isinstance(msg, m.ClientMessage)


@given(messages.filter(lambda x: len(x.payload) > 0), st.data())
def test_any_flipped_payload_bit_is_a_digest_mismatch(
    msg: m.ClientMessage, data: st.DataObject
) -> None:
    frame = bytearray(m.encode(msg))
    index = data.draw(st.integers(m.PAYLOAD_OFFSET, len(frame) - 1))
    frame[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(m.DigestMismatchError, match="digest mismatch"):
        m.decode(bytes(frame))


@given(messages, st.data())
def test_corrupted_header_bytes_never_crash(msg: m.ClientMessage, data: st.DataObject) -> None:
    frame = bytearray(m.encode(msg))
    index = data.draw(st.integers(0, m.PAYLOAD_OFFSET - 1))
    frame[index] = data.draw(st.integers(0, 255))
    try:
        m.decode(bytes(frame))
    except m.MessageDecodeError:
        pass


def test_publication_messages_skip_the_checks() -> None:
    frame = bytearray(m.encode(m.ClientMessage(m.START_PUBLICATION, created_date=1)))
    frame[40:48] = bytes(8)  # date 0
    assert m.decode(bytes(frame)).message_type == m.START_PUBLICATION


def test_zero_date_is_rejected() -> None:
    frame = bytearray(m.encode(m.ClientMessage(m.OUTPUT_STREAM_DATA, created_date=1)))
    frame[40:48] = bytes(8)
    with pytest.raises(m.MessageDecodeError, match="created date"):
        m.decode(bytes(frame))


def test_non_bytes_frame_is_an_error() -> None:
    with pytest.raises(m.MessageDecodeError, match="binary"):
        m.decode("text")  # type: ignore[arg-type]


def test_size_flag_exit_code_payloads() -> None:
    assert m.size_payload(100, 30) == b'{"cols":100,"rows":30}'
    assert m.parse_size(b'{"cols":120,"rows":40}') == (120, 40)
    assert m.flag_payload(m.PayloadFlag.TERMINATE_SESSION) == b"\x00\x00\x00\x02"
    assert m.parse_flag(b"\x00\x00\x00\x03") is m.PayloadFlag.CONNECT_TO_PORT_ERROR
    assert m.parse_exit_code(m.exit_code_payload(3)) == 3
    assert m.parse_exit_code(b"EXIT_CODE: 130\n") == 130
    assert m.parse_exit_code(b"0") == 0
    for bad in (b"", b"nope", b"EXIT_CODE:"):
        with pytest.raises(m.MessageDecodeError):
            m.parse_exit_code(bad)
    for bad in (b"{", b"[]", b'{"cols":"a","rows":1}'):
        with pytest.raises(m.MessageDecodeError):
            m.parse_size(bad)
    with pytest.raises(m.MessageDecodeError):
        m.parse_flag(b"\x01")


def test_handshake_payloads() -> None:
    req = m.parse_handshake_request(
        m.handshake_request_payload(
            "3.3.987.0",
            "Port",
            {"portNumber": "22", "type": "LocalPortForwarding"},
            [{"ActionType": "KMSEncryption", "ActionParameters": {"KMSKeyId": "k"}}],
        )
    )
    assert req.agent_version == "3.3.987.0"
    assert req.session_type == "Port"
    assert req.properties["type"] == "LocalPortForwarding"
    assert req.kms_requested
    response = m.handshake_response_payload(
        "1.2.0.0", [m.processed_action(m.SESSION_TYPE_ACTION, m.ActionStatus.SUCCESS)]
    )
    assert response == (
        b'{"ClientVersion":"1.2.0.0","ProcessedClientActions":[{"ActionType":"SessionType",'
        b'"ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}'
    )
    parsed = m.parse_handshake_response(response)
    assert parsed.status_of("SessionType") == m.ActionStatus.SUCCESS
    done = m.parse_handshake_complete(m.handshake_complete_payload(12345, "hello"))
    assert done == m.HandshakeComplete(12345, "hello")
    with pytest.raises(m.MessageDecodeError):
        m.parse_handshake_request(b'{"RequestedClientActions": 3}')


def test_channel_closed_and_open_data_channel() -> None:
    closed = m.parse_channel_closed(m.channel_closed_payload("alice-0123", "bye"))
    assert closed == m.ChannelClosed("alice-0123", "bye")
    assert m.parse_channel_closed(b"garbage") == m.ChannelClosed("", "")
    text = m.open_data_channel_json("s3cr3t", "cid", "rid", "1.2.3.4")
    assert text.startswith('{"MessageSchemaVersion":"1.0","RequestId":"rid","TokenValue":"s3cr3t"')
    opened = m.parse_open_data_channel(text)
    assert (opened.token_value, opened.client_id, opened.client_version) == (
        "s3cr3t",
        "cid",
        "1.2.3.4",
    )
    assert "s3cr3t" not in repr(opened)
    with pytest.raises(m.MessageDecodeError, match="TokenValue"):
        m.parse_open_data_channel('{"ClientId":"x"}')
