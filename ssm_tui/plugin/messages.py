"""The Session Manager data-channel codec, shared by our client and the sandbox's server.

One module encodes and decodes for both ends so that they cannot drift apart. The wire format is
the binary `ClientMessage` of the official plugin (reference `session-protocol.md` §6):

    offset size field
         0    4 HeaderLength   uint32 BE, writers put 116 (the offset of PayloadLength)
         4   32 MessageType    ASCII, left-aligned, padded with spaces (readers also strip NULs)
        36    4 SchemaVersion  uint32 (1)
        40    8 CreatedDate    uint64 epoch milliseconds, non-zero
        48    8 SequenceNumber int64
        56    8 Flags          uint64 (bit0 SYN, bit1 FIN; acks carry 3)
        64   16 MessageId      UUID with its two 8-byte halves swapped (least significant first)
        80   32 PayloadDigest  SHA-256 of the payload
       112    4 PayloadType    uint32 (`PayloadType`)
       116    4 PayloadLength  uint32
       120    n Payload

`decode` never raises anything but `MessageDecodeError` (a `ProtocolError`); a frame that fails
the reader checks of the official plugin is reported with a message saying what is wrong, so
the caller can log it and drop the frame the way the plugin does.

The JSON payloads (acks, handshake, size, channel_closed, the open-data-channel text frame) have
builders and parsers here too; builders keep the key order the official plugin writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Any, TypeGuard

# ---------------------------------------------------------------------------------------------
# Constants

HEADER_LENGTH = 116
"""The value writers put in the HeaderLength field (offset of PayloadLength)."""
PAYLOAD_OFFSET = HEADER_LENGTH + 4
"""Offset of the payload in a frame written by us (120)."""
MESSAGE_TYPE_LENGTH = 32
SCHEMA_VERSION = 1
MAX_CHUNK = 1024
"""What the official agent and plugin put in one stream message at most (we may send more)."""

INPUT_STREAM_DATA = "input_stream_data"
OUTPUT_STREAM_DATA = "output_stream_data"
ACKNOWLEDGE = "acknowledge"
CHANNEL_CLOSED = "channel_closed"
START_PUBLICATION = "start_publication"
PAUSE_PUBLICATION = "pause_publication"

_NO_CHECK_TYPES = frozenset({START_PUBLICATION, PAUSE_PUBLICATION})
_HEADER = struct.Struct(">I32sIQqQ16s32sII")
assert _HEADER.size == PAYLOAD_OFFSET
_EMPTY_DIGEST = hashlib.sha256(b"").digest()


class PayloadType(IntEnum):
    """What a stream message's payload holds (reference §7.2)."""

    OUTPUT = 1
    ERROR = 2
    SIZE = 3
    PARAMETER = 4
    HANDSHAKE_REQUEST = 5
    HANDSHAKE_RESPONSE = 6
    HANDSHAKE_COMPLETE = 7
    ENC_CHALLENGE_REQUEST = 8
    ENC_CHALLENGE_RESPONSE = 9
    FLAG = 10
    STDERR = 11
    EXIT_CODE = 12


class MessageFlag(IntFlag):
    """The header's Flags bit field. Nobody branches on it; writers follow the official values."""

    NONE = 0
    SYN = 1
    FIN = 2
    ACK = SYN | FIN
    """What acknowledge messages carry (3)."""


class PayloadFlag(IntEnum):
    """The 4-byte big-endian value of a `PayloadType.FLAG` message (port sessions)."""

    DISCONNECT_TO_PORT = 1
    TERMINATE_SESSION = 2
    CONNECT_TO_PORT_ERROR = 3


class ActionStatus(IntEnum):
    """Handshake ProcessedClientActions[].ActionStatus."""

    SUCCESS = 1
    FAILED = 2
    UNSUPPORTED = 3


# ---------------------------------------------------------------------------------------------
# Errors


class ProtocolError(Exception):
    """Anything the peer sent that does not follow the data-channel protocol."""


class MessageDecodeError(ProtocolError):
    """A frame or payload that cannot be decoded (truncated, garbage, wrong digest...)."""


class DigestMismatchError(MessageDecodeError):
    """The payload's SHA-256 does not match the header's PayloadDigest."""


# ---------------------------------------------------------------------------------------------
# The message


def now_ms() -> int:
    """Unix epoch milliseconds, what CreatedDate holds."""
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class ClientMessage:
    """One data-channel message (one binary WebSocket frame)."""

    message_type: str
    schema_version: int = SCHEMA_VERSION
    created_date: int = field(default_factory=now_ms)
    """Unix epoch milliseconds."""
    sequence_number: int = 0
    flags: int = 0
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    payload_type: int = 0
    payload: bytes = b""

    def __repr__(self) -> str:  # short: payloads may be large and hold typed secrets
        return (
            f"ClientMessage({self.message_type!r}, seq={self.sequence_number}, "
            f"ptype={self.payload_type}, flags={self.flags}, {len(self.payload)} bytes)"
        )


def encode(msg: ClientMessage) -> bytes:
    """Serialize `msg` exactly as the official plugin and agent write it."""
    mtype = msg.message_type.encode("ascii")
    if not mtype or len(mtype) > MESSAGE_TYPE_LENGTH:
        raise ValueError(f"message type must be 1..32 ASCII characters: {msg.message_type!r}")
    raw_id = msg.message_id.bytes
    header = _HEADER.pack(
        HEADER_LENGTH,
        mtype.ljust(MESSAGE_TYPE_LENGTH, b" "),
        msg.schema_version,
        msg.created_date,
        msg.sequence_number,
        msg.flags,
        raw_id[8:] + raw_id[:8],
        hashlib.sha256(msg.payload).digest(),
        int(msg.payload_type),
        len(msg.payload),
    )
    return header + msg.payload


# ---------------------------------------------------------------------------------------------
# The hot path: a 1 MB paste is 1024 stream messages and 1024 acks on each side, so building
# and reading them costs per message what the rest of the session costs in total. These write
# the same bytes as `encode(stream_message(...))` / `encode(make_ack(...))` without the
# intermediate objects (measured: ~3x less CPU per message than the generic path).

_ID_POOL = 1024
"""Message ids drawn from one `os.urandom` call: one system call per 1024 messages, not one each."""


class _MessageIds:
    """Random v4 UUIDs, already in wire order (halves swapped), from a pool refilled in bulk."""

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0

    def _refill(self) -> None:
        raw = bytearray(os.urandom(16 * _ID_POOL))
        # wire byte 14 = UUID byte 6 (version 4), wire byte 0 = UUID byte 8 (variant 10xx)
        raw[14::16] = bytes(b & 0x0F | 0x40 for b in raw[14::16])
        raw[0::16] = bytes(b & 0x3F | 0x80 for b in raw[0::16])
        self._pool = bytes(raw)
        self._next = 0

    def take(self) -> bytes:
        if self._next >= len(self._pool):
            self._refill()
        start = self._next
        self._next = start + 16
        return self._pool[start : start + 16]


_ids = _MessageIds()
_PADDED: dict[str, bytes] = {}


def _padded_type(message_type: str) -> bytes:
    padded = _PADDED.get(message_type)
    if padded is None:
        raw = message_type.encode("ascii")
        if not raw or len(raw) > MESSAGE_TYPE_LENGTH:
            raise ValueError(f"message type must be 1..32 ASCII characters: {message_type!r}")
        padded = _PADDED[message_type] = raw.ljust(MESSAGE_TYPE_LENGTH, b" ")
    return padded


def encode_stream(
    message_type: str, sequence_number: int, payload_type: int, payload: bytes, flags: int = 0
) -> bytes:
    """`encode(stream_message(...))` in one step: a new message id, the time now."""
    return (
        _HEADER.pack(
            HEADER_LENGTH,
            _padded_type(message_type),
            SCHEMA_VERSION,
            time.time_ns() // 1_000_000,
            sequence_number,
            flags,
            _ids.take(),
            hashlib.sha256(payload).digest(),
            payload_type,
            len(payload),
        )
        + payload
    )


_JSON_UNSAFE = re.compile(r'["\\]')
_ACK_TEMPLATE = (
    b'{"AcknowledgedMessageType":"%s","AcknowledgedMessageId":"%s",'
    b'"AcknowledgedMessageSequenceNumber":%d,"IsSequentialMessage":true}'
)


def encode_ack(msg: ClientMessage) -> bytes:
    """`encode(make_ack(msg))` in one step (the same JSON, byte for byte)."""
    if _JSON_UNSAFE.search(msg.message_type):
        return encode(make_ack(msg))  # a type json.dumps must escape: take the slow road
    payload = _ACK_TEMPLATE % (
        msg.message_type.encode("ascii"),
        str(msg.message_id).encode("ascii"),
        msg.sequence_number,
    )
    return encode_stream(ACKNOWLEDGE, 0, 0, payload, int(MessageFlag.ACK))


def _uuid_from_wire(raw_id: bytes) -> uuid.UUID:
    """The UUID of a wire MessageId, built as `uuid.UUID.__init__` does without its argument
    checks (which cost most of a decode; 16 bytes are always a valid UUID)."""
    value = object.__new__(uuid.UUID)
    object.__setattr__(value, "int", int.from_bytes(raw_id[8:] + raw_id[:8], "big"))
    object.__setattr__(value, "is_safe", uuid.SafeUUID.unknown)
    return value


_TYPES: dict[bytes, str] = {}
"""Padded MessageType fields already seen, decoded (a session uses a handful)."""


def decode(frame: bytes) -> ClientMessage:
    """Parse one frame; raise `MessageDecodeError` saying why when it is not a valid message.

    The checks are the official reader's (non-zero HeaderLength, non-empty type, non-zero date,
    payload digest unless the payload is empty; none for start/pause_publication), plus the
    ones that make a truncated frame detectable: HeaderLength within the frame and PayloadLength
    equal to the bytes that follow.
    """
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise MessageDecodeError(f"expected a binary frame, got {type(frame).__name__}")
    frame = bytes(frame)
    if len(frame) < PAYLOAD_OFFSET:
        raise MessageDecodeError(
            f"truncated frame: {len(frame)} bytes, a message header needs {PAYLOAD_OFFSET}"
        )
    (
        header_length,
        raw_type,
        schema_version,
        created_date,
        sequence_number,
        flags,
        raw_id,
        digest,
        payload_type,
        payload_length,
    ) = _HEADER.unpack_from(frame)
    message_type = _TYPES.get(raw_type)
    if message_type is None:
        try:
            message_type = raw_type.decode("ascii").strip("\x00").strip()
        except UnicodeDecodeError:
            raise MessageDecodeError("garbage frame: message type is not ASCII") from None
        if not message_type or not message_type.isprintable():
            raise MessageDecodeError("garbage frame: empty or unprintable message type")
        if len(_TYPES) < 64:
            _TYPES[raw_type] = message_type
    if header_length < HEADER_LENGTH or header_length + 4 > len(frame):
        raise MessageDecodeError(
            f"garbage frame: header length {header_length} does not fit a {len(frame)}-byte frame"
        )
    payload = frame[header_length + 4 :]
    if message_type not in _NO_CHECK_TYPES:
        if len(payload) != payload_length:
            raise MessageDecodeError(
                f"truncated {message_type} frame: payload length {payload_length}, "
                f"{len(payload)} bytes present"
            )
        if created_date == 0:
            raise MessageDecodeError(f"invalid {message_type} frame: created date is 0")
        if payload and hashlib.sha256(payload).digest() != digest:
            raise DigestMismatchError(
                f"{message_type} seq {sequence_number}: payload digest mismatch "
                f"({len(payload)} bytes)"
            )
    return ClientMessage(  # positional: the field order, and cheaper than keywords
        message_type,
        schema_version,
        created_date,
        sequence_number,
        flags,
        _uuid_from_wire(raw_id),
        payload_type,
        payload,
    )


# ---------------------------------------------------------------------------------------------
# Builders for common messages


def stream_message(
    message_type: str,
    sequence_number: int,
    payload_type: int,
    payload: bytes,
    flags: int = 0,
) -> ClientMessage:
    """A sequenced `input_stream_data` / `output_stream_data` message."""
    return ClientMessage(
        message_type=message_type,
        sequence_number=sequence_number,
        flags=flags,
        payload_type=int(payload_type),
        payload=bytes(payload),
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _load_json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageDecodeError(f"{what}: payload is not JSON ({exc})") from None


def _load_object(payload: bytes, what: str) -> dict[str, Any]:
    value = _load_json(payload, what)
    if not isinstance(value, dict):
        raise MessageDecodeError(f"{what}: payload is not a JSON object")
    return value


def ack_payload(msg: ClientMessage) -> bytes:
    """The JSON an `acknowledge` message carries for `msg` (keys in the official order)."""
    return _json(
        {
            "AcknowledgedMessageType": msg.message_type,
            "AcknowledgedMessageId": str(msg.message_id),
            "AcknowledgedMessageSequenceNumber": msg.sequence_number,
            "IsSequentialMessage": True,
        }
    )


def make_ack(msg: ClientMessage) -> ClientMessage:
    """The `acknowledge` message for a received sequenced message."""
    return ClientMessage(
        message_type=ACKNOWLEDGE,
        sequence_number=0,
        flags=int(MessageFlag.ACK),
        payload_type=0,
        payload=ack_payload(msg),
    )


_ACK_SEQ = re.compile(
    rb'^\{"AcknowledgedMessageType":"[a-z_]*","AcknowledgedMessageId":"[-0-9a-f]*",'
    rb'"AcknowledgedMessageSequenceNumber":(0|[1-9][0-9]{0,18}),"IsSequentialMessage":(?:true|false)\}$'
)
"""The ack JSON exactly as the plugin and the agent write it: read without a JSON parser."""


def parse_ack(payload: bytes) -> int:
    """The acknowledged sequence number (the only field receivers match on)."""
    fast = _ACK_SEQ.match(payload)
    if fast is not None:
        return int(fast.group(1))
    body = _load_object(payload, "acknowledge")
    seq = body.get("AcknowledgedMessageSequenceNumber")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise MessageDecodeError("acknowledge: AcknowledgedMessageSequenceNumber is missing")
    return seq


def size_payload(cols: int, rows: int) -> bytes:
    """`{"cols":C,"rows":R}`, compact, cols first (PayloadType.SIZE)."""
    return _json({"cols": int(cols), "rows": int(rows)})


def parse_size(payload: bytes) -> tuple[int, int]:
    """(cols, rows) from a Size payload, as the agent's `SizeData` (uint32 fields) reads it.

    Not clamped: the agent passes them to the pty as uint16 (`shell_unix.go` SetSize), 0x0
    included; what fits a pty is the receiver's business."""
    body = _load_object(payload, "size")
    cols, rows = body.get("cols"), body.get("rows")
    if not (_is_int(cols) and _is_int(rows)):
        raise MessageDecodeError("size: cols and rows must be integers")
    if not (0 <= cols <= 0xFFFFFFFF and 0 <= rows <= 0xFFFFFFFF):
        raise MessageDecodeError("size: cols and rows must fit a uint32")
    return cols, rows


def _is_int(value: object) -> TypeGuard[int]:
    """An int that JSON gave as a number (True/False are ints to Python, not to the agent)."""
    return isinstance(value, int) and not isinstance(value, bool)


def flag_payload(flag: int) -> bytes:
    """The 4-byte big-endian payload of a Flag message."""
    return struct.pack(">I", int(flag))


def parse_flag(payload: bytes) -> int:
    """The flag value of a Flag message (a `PayloadFlag` when known)."""
    if len(payload) != 4:
        raise MessageDecodeError(f"flag: expected 4 bytes, got {len(payload)}")
    value = struct.unpack(">I", payload)[0]
    try:
        return PayloadFlag(value)
    except ValueError:
        return value


_EXIT_CODE_RE = re.compile(rb"^\s*(?:EXIT_CODE\s*:\s*)?(-?\d+)\s*$")


def exit_code_payload(code: int) -> bytes:
    """An ExitCode payload as the agent writes it."""
    return f"EXIT_CODE: {int(code)}".encode()


def parse_exit_code(payload: bytes) -> int:
    """The remote status from an ExitCode payload (`EXIT_CODE: <n>`, or a bare number)."""
    match = _EXIT_CODE_RE.match(payload)
    if not match:
        raise MessageDecodeError(f"exit code: unexpected payload {payload[:40]!r}")
    return int(match.group(1))


# --- handshake --------------------------------------------------------------------------------

SESSION_TYPE_ACTION = "SessionType"
KMS_ENCRYPTION_ACTION = "KMSEncryption"
SHELL_SESSION_TYPES = frozenset(
    {"Standard_Stream", "InteractiveCommands", "NonInteractiveCommands"}
)
PORT_SESSION_TYPE = "Port"


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """What the agent asks of the client (PayloadType.HANDSHAKE_REQUEST)."""

    agent_version: str
    actions: tuple[dict[str, Any], ...]

    @property
    def session_type(self) -> str | None:
        for action in self.actions:
            if action.get("ActionType") == SESSION_TYPE_ACTION:
                params = action.get("ActionParameters") or {}
                return params.get("SessionType") if isinstance(params, dict) else None
        return None

    @property
    def properties(self) -> dict[str, Any]:
        """The session document's properties (port number, type...), {} when absent."""
        for action in self.actions:
            if action.get("ActionType") == SESSION_TYPE_ACTION:
                params = action.get("ActionParameters") or {}
                props = params.get("Properties") if isinstance(params, dict) else None
                return props if isinstance(props, dict) else {}
        return {}

    @property
    def kms_requested(self) -> bool:
        return any(a.get("ActionType") == KMS_ENCRYPTION_ACTION for a in self.actions)


def handshake_request_payload(
    agent_version: str,
    session_type: str,
    properties: dict[str, Any] | None = None,
    extra_actions: list[dict[str, Any]] | None = None,
) -> bytes:
    """The agent's HandshakeRequest asking for `session_type`."""
    actions: list[dict[str, Any]] = [
        {
            "ActionType": SESSION_TYPE_ACTION,
            "ActionParameters": {"SessionType": session_type, "Properties": properties},
        }
    ]
    actions.extend(extra_actions or [])
    return _json({"AgentVersion": agent_version, "RequestedClientActions": actions})


def parse_handshake_request(payload: bytes) -> HandshakeRequest:
    body = _load_object(payload, "handshake request")
    actions = body.get("RequestedClientActions") or []
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise MessageDecodeError("handshake request: RequestedClientActions is not a list")
    version = body.get("AgentVersion")
    return HandshakeRequest(
        agent_version=version if isinstance(version, str) else "", actions=tuple(actions)
    )


@dataclass(frozen=True, slots=True)
class HandshakeResponse:
    """The client's answer (PayloadType.HANDSHAKE_RESPONSE)."""

    client_version: str
    processed_actions: tuple[dict[str, Any], ...]
    errors: tuple[str, ...] = ()

    def status_of(self, action_type: str) -> int | None:
        for action in self.processed_actions:
            if action.get("ActionType") == action_type:
                return action.get("ActionStatus")
        return None


def processed_action(
    action_type: str, status: int, result: Any = None, error: str = ""
) -> dict[str, Any]:
    """One ProcessedClientActions entry."""
    return {
        "ActionType": action_type,
        "ActionStatus": int(status),
        "ActionResult": result,
        "Error": error,
    }


def handshake_response_payload(
    client_version: str,
    processed_actions: list[dict[str, Any]],
    errors: list[str] | None = None,
) -> bytes:
    return _json(
        {
            "ClientVersion": client_version,
            "ProcessedClientActions": processed_actions,
            "Errors": errors or None,
        }
    )


def parse_handshake_response(payload: bytes) -> HandshakeResponse:
    body = _load_object(payload, "handshake response")
    actions = body.get("ProcessedClientActions") or []
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise MessageDecodeError("handshake response: ProcessedClientActions is not a list")
    errors = body.get("Errors") or []
    version = body.get("ClientVersion")
    return HandshakeResponse(
        client_version=version if isinstance(version, str) else "",
        processed_actions=tuple(actions),
        errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (str(errors),),
    )


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    time_to_complete_ns: int
    customer_message: str


def handshake_complete_payload(time_to_complete_ns: int, customer_message: str = "") -> bytes:
    return _json(
        {"HandshakeTimeToComplete": int(time_to_complete_ns), "CustomerMessage": customer_message}
    )


def parse_handshake_complete(payload: bytes) -> HandshakeComplete:
    body = _load_object(payload, "handshake complete")
    elapsed = body.get("HandshakeTimeToComplete")
    message = body.get("CustomerMessage")
    return HandshakeComplete(
        time_to_complete_ns=elapsed if isinstance(elapsed, int) else 0,
        customer_message=message if isinstance(message, str) else "",
    )


# --- channel_closed ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    session_id: str
    output: str


def channel_closed_payload(session_id: str, output: str = "", destination_id: str = "") -> bytes:
    """The JSON MGS sends in `channel_closed` (keys as the official service writes them)."""
    return _json(
        {
            "MessageId": str(uuid.uuid4()),
            "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DestinationId": destination_id,
            "SessionId": session_id,
            "MessageType": CHANNEL_CLOSED,
            "SchemaVersion": 1,
            "Output": output,
        }
    )


def channel_closed_message(session_id: str, output: str = "") -> ClientMessage:
    return ClientMessage(
        message_type=CHANNEL_CLOSED,
        payload=channel_closed_payload(session_id, output),
    )


def parse_channel_closed(payload: bytes) -> ChannelClosed:
    """Lenient: an empty or odd payload still closes the channel."""
    try:
        body = json.loads(payload) if payload else {}
    except (ValueError, UnicodeDecodeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    sid, output = body.get("SessionId"), body.get("Output")
    return ChannelClosed(
        session_id=sid if isinstance(sid, str) else "",
        output=output if isinstance(output, str) else "",
    )


# --- the first text frame ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenDataChannel:
    """The open-data-channel text frame (reference §5)."""

    token_value: str
    client_id: str
    request_id: str
    client_version: str = ""
    schema_version: str = "1.0"

    def __repr__(self) -> str:
        return f"OpenDataChannel(client_id={self.client_id!r}, token_value='***')"


def open_data_channel_json(
    token_value: str, client_id: str, request_id: str | None = None, client_version: str = ""
) -> str:
    return json.dumps(
        {
            "MessageSchemaVersion": "1.0",
            "RequestId": request_id or str(uuid.uuid4()),
            "TokenValue": token_value,
            "ClientId": client_id,
            "ClientVersion": client_version,
        },
        separators=(",", ":"),
    )


def parse_open_data_channel(text: str | bytes) -> OpenDataChannel:
    body = _load_object(text.encode() if isinstance(text, str) else text, "open data channel")
    token = body.get("TokenValue")
    if not isinstance(token, str) or not token:
        raise MessageDecodeError("open data channel: TokenValue is missing")

    def text_of(key: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) else ""

    return OpenDataChannel(
        token_value=token,
        client_id=text_of("ClientId"),
        request_id=text_of("RequestId"),
        client_version=text_of("ClientVersion"),
        schema_version=text_of("MessageSchemaVersion") or "1.0",
    )
