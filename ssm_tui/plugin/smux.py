"""The client half of smux v1, the multiplexer port-forwarding sessions run over the data channel.

With agents newer than 3.0.196.0, `LocalPortForwarding` sessions carry many TCP connections at
once: the plugin runs an smux v1 client (the xtaci/smux wire format) whose bytes travel as Output
payloads, and the agent runs the server that dials the target once per stream (reference §11).

Frame: version u8 (1), command u8 (SYN 0, FIN 1, PSH 2, NOP 3), length u16 little-endian,
stream id u32 little-endian, then `length` bytes. Client stream ids are odd, starting at 3.
Frames may be split across data-channel messages at any byte, so `feed()` reassembles them.

Sans-I/O in the same spirit as `channel.Channel`: `SmuxClient` turns opens/writes/closes into
bytes for the data channel (`frame_*`) and incoming bytes into per-stream events (`feed`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ssm_tui.plugin.messages import ProtocolError

VERSION = 1
SYN, FIN, PSH, NOP = 0, 1, 2, 3
HEADER = struct.Struct("<BBHI")
MAX_FRAME_DATA = 32768
"""smux's default maximum frame size."""


class SmuxError(ProtocolError):
    """The agent's smux stream is not valid smux v1."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """Something the agent did on one stream: `data` (PSH) or `fin` (the agent closed it)."""

    stream_id: int
    data: bytes = b""
    fin: bool = False


def frame(cmd: int, stream_id: int, data: bytes = b"") -> bytes:
    return HEADER.pack(VERSION, cmd, len(data), stream_id) + data


class SmuxClient:
    """Stream ids, framing and reassembly for the client side of an smux v1 session."""

    def __init__(self) -> None:
        self._next_id = 1
        self._buffer = bytearray()
        self.open_streams: set[int] = set()

    def open(self) -> tuple[int, bytes]:
        """A new stream id and the SYN frame that opens it."""
        self._next_id += 2
        self.open_streams.add(self._next_id)
        return self._next_id, frame(SYN, self._next_id)

    def data(self, stream_id: int, payload: bytes) -> bytes:
        """PSH frames carrying `payload` (split at the maximum frame size)."""
        return b"".join(
            frame(PSH, stream_id, payload[i : i + MAX_FRAME_DATA])
            for i in range(0, len(payload), MAX_FRAME_DATA)
        )

    def close(self, stream_id: int) -> bytes:
        """The FIN frame for a stream we are done with (no-op if already closed)."""
        if stream_id not in self.open_streams:
            return b""
        self.open_streams.discard(stream_id)
        return frame(FIN, stream_id)

    @staticmethod
    def nop() -> bytes:
        """A keep-alive frame (only needed with agents that still run smux keep-alive)."""
        return frame(NOP, 0)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Reassemble frames from the agent's bytes; return what happened on which stream."""
        self._buffer += data
        events: list[StreamEvent] = []
        while len(self._buffer) >= HEADER.size:
            version, cmd, length, stream_id = HEADER.unpack_from(self._buffer)
            if version != VERSION:
                raise SmuxError(f"smux: unsupported version {version}")
            if cmd not in (SYN, FIN, PSH, NOP):
                raise SmuxError(f"smux: unknown command {cmd}")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[HEADER.size : end])
            del self._buffer[:end]
            if cmd == PSH and payload:
                events.append(StreamEvent(stream_id, data=payload))
            elif cmd == FIN:
                events.append(StreamEvent(stream_id, fin=True))
            # SYN from the server and NOP need no action on the client
        return events
