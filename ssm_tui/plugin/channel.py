"""The data channel's reliability engine, without I/O, for both our client and the sandbox server.

Session Manager runs its own acknowledgement layer over the WebSocket (reference §8): every
sequenced message (`input_stream_data` one way, `output_stream_data` the other) is acked by
sequence number, kept by its sender until acked, and the oldest unacked one is resent after a
retransmission timeout. The official plugin silently drops messages it is not ready for, so a
server MUST retransmit; and a dropped socket loses whatever was in flight.

`Channel` holds that state and does no I/O: you feed it decoded messages and the time, it gives
back encoded frames to write and the messages to deliver, in order. The same class serves both
ends; only the message types (and the SYN flag on the first message) differ:

    ch = Channel.for_client()                  # sends input_stream_data, receives output
    ch = Channel.for_server()                  # sends output_stream_data, receives input

Sending:
    frames = ch.send(PayloadType.OUTPUT, b"ls\\r")   # -> list[bytes] to write now (maybe [])
        A message gets the next sequence number at once. It goes out immediately while fewer than
        `window` messages are unacked; otherwise it waits in order and comes back from a later
        `receive()` (when acks free the window). A large window keeps a paste streaming.
    ch.due_retransmissions(now) -> list[bytes]
        Call it periodically (`next_deadline(now)` says when): resends the head of the unacked
        list when it has waited `rto` since its last send (identical bytes: same MessageId).
        After `max_attempts` resends of one message it raises `RetransmissionExhausted`.
    ch.unacked_frames() -> list[bytes]
        Every sent-but-unacked frame, for resending at once on a fresh socket after a reconnect.

Receiving:
    result = ch.receive(msg, now)   # msg: a decoded ClientMessage of any type
    result.send       frames to write now: acks, and window-freed messages
    result.deliver    messages for the application, in sequence order: the peer's stream
                      messages, then any non-sequenced message (channel_closed, publication...)
                      as it arrives. Acks are consumed here and never delivered.
    - seq == expected: acked, delivered, then buffered successors are drained (not re-acked: they
      were acked when they arrived). With `ack_on_arrival=False` (the agent's order: its
      `handleStreamDataMessage` processes the message, e.g. writes it to the pty, and only then
      acks it) the ack is left to the caller: `result.ack_after`.
    - seq > expected: acked and kept in the reorder buffer (up to `max_buffer` messages and
      `max_buffer_bytes` of payload; beyond either it is dropped unacked, and the peer's
      retransmission brings it back later). The byte cap is what bounds memory: a hostile or
      broken peer sending 1 MiB frames out of order cannot make us hold 10 000 of them.
    - seq < expected, or already buffered: a duplicate. Never delivered twice. Re-acked when
      `reack_duplicates` (default on both sides: our ack may have been lost with a dropped
      socket, and re-acking stops the peer's resends; the official agent does the same. The
      official plugin does not, which only costs the agent a few resends).

RTT/RTO (reference §8.5): initial RTT 100 ms, RTTVAR 0, RTO 200 ms; each ack of a message gives a
sample measured from its first send: RTTVAR = 3/4 RTTVAR + 1/4 |RTT - sample|,
RTT = 7/8 RTT + 1/8 sample, RTO = RTT + max(10 ms, 4 RTTVAR), capped at 1 s.

Time is a float of seconds from any monotonic clock; every method takes it explicitly
(`None` means `time.monotonic()`), which keeps tests deterministic.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from ssm_tui.plugin.messages import (
    ACKNOWLEDGE,
    INPUT_STREAM_DATA,
    OUTPUT_STREAM_DATA,
    ClientMessage,
    MessageFlag,
    ProtocolError,
    encode_ack,
    encode_stream,
    parse_ack,
)

INITIAL_RTT = 0.1
INITIAL_RTTVAR = 0.0
INITIAL_RTO = 0.2
MIN_RTO_VARIATION = 0.01
MAX_RTO = 1.0
MAX_ATTEMPTS = 3000
DEFAULT_WINDOW = 256
MAX_BUFFER = 10_000
MAX_BUFFER_BYTES = 8 * 1024 * 1024
"""Payload bytes the reorder buffer may hold: ~8000 full 1 KB messages, far beyond what a real
peer has in flight (our sandbox's window is 512 messages), yet a bounded amount of memory."""
BUFFER_ENTRY_OVERHEAD = 128
"""Bytes charged per buffered message on top of its payload (the header and the Python object)."""


class RetransmissionExhausted(ProtocolError):
    """A message was resent `max_attempts` times without an ack: the peer is gone."""


@dataclass(slots=True)
class _Outgoing:
    seq: int
    frame: bytes
    first_sent: float = 0.0
    last_sent: float = 0.0
    attempts: int = 0
    """Resends so far (0 = sent once)."""


@dataclass(slots=True)
class Received:
    """What one incoming message produced."""

    send: list[bytes] = field(default_factory=list)
    deliver: list[ClientMessage] = field(default_factory=list)
    ack_after: ClientMessage | None = None
    """With `ack_on_arrival` off: the in-order message whose ack the caller sends once it has
    handled it (`encode_ack(msg)`), as the agent does."""


def _now(now: float | None) -> float:
    return time.monotonic() if now is None else now


class ChannelOptions(TypedDict, total=False):
    """The keyword options of `Channel`, for its two constructors `for_client`/`for_server`."""

    window: int
    first_flags: int
    reack_duplicates: bool
    max_buffer: int
    max_buffer_bytes: int
    max_attempts: int
    ack_on_arrival: bool


class Channel:
    """Sequencing, acks, retransmission and in-order delivery for one end of a data channel."""

    def __init__(
        self,
        outgoing_type: str,
        incoming_type: str,
        *,
        window: int = DEFAULT_WINDOW,
        first_flags: int = 0,
        reack_duplicates: bool = True,
        max_buffer: int = MAX_BUFFER,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
        max_attempts: int = MAX_ATTEMPTS,
        ack_on_arrival: bool = True,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.outgoing_type = outgoing_type
        self.incoming_type = incoming_type
        self.window = window
        self.first_flags = first_flags
        self.reack_duplicates = reack_duplicates
        self.max_buffer = max_buffer
        self.max_buffer_bytes = max_buffer_bytes
        self.max_attempts = max_attempts
        self.ack_on_arrival = ack_on_arrival
        # outgoing
        self.next_seq = 0
        self._in_flight: dict[int, _Outgoing] = {}  # insertion order == seq order
        self._waiting: deque[_Outgoing] = deque()
        self.rtt = INITIAL_RTT
        self.rttvar = INITIAL_RTTVAR
        self.rto = INITIAL_RTO
        self.retransmissions = 0
        # incoming
        self.expected_seq = 0
        self._reorder: dict[int, ClientMessage] = {}
        self.buffered_bytes = 0
        self.refused = 0
        """Out-of-order messages dropped (unacked) because the reorder buffer was full."""
        self.duplicates = 0

    @classmethod
    def for_client(cls, **kwargs: Unpack[ChannelOptions]) -> Channel:
        """The plugin's end: sends `input_stream_data` (flags 0), receives `output_stream_data`."""
        return cls(INPUT_STREAM_DATA, OUTPUT_STREAM_DATA, **kwargs)

    @classmethod
    def for_server(cls, **kwargs: Unpack[ChannelOptions]) -> Channel:
        """The agent's end: sends `output_stream_data` (SYN on seq 0), receives input."""
        kwargs.setdefault("first_flags", int(MessageFlag.SYN))
        return cls(OUTPUT_STREAM_DATA, INPUT_STREAM_DATA, **kwargs)

    # --- outgoing -------------------------------------------------------------------------------

    @property
    def unacked(self) -> int:
        """Messages sent and not yet acked."""
        return len(self._in_flight)

    @property
    def queued(self) -> int:
        """Messages waiting for room in the window (not sent yet)."""
        return len(self._waiting)

    @property
    def idle(self) -> bool:
        """Everything sent has been acked."""
        return not self._in_flight and not self._waiting

    @property
    def room(self) -> int:
        """Messages that would go out at once (the window's free places, minus those waiting)."""
        return max(0, self.window - len(self._in_flight) - len(self._waiting))

    def send(self, payload_type: int, payload: bytes, now: float | None = None) -> list[bytes]:
        """Queue one sequenced message; return the frames that may be written now."""
        return self.send_many(payload_type, (payload,), now)

    def send_many(
        self, payload_type: int, payloads: Iterable[bytes], now: float | None = None
    ) -> list[bytes]:
        """Queue several messages of one payload type, in order; the frames to write now.

        One call for a paste's worth of chunks: the caller writes the frames in one batch.
        """
        kind = self.outgoing_type
        waiting = self._waiting
        for payload in payloads:
            seq = self.next_seq
            self.next_seq = seq + 1
            flags = self.first_flags if seq == 0 else 0
            waiting.append(_Outgoing(seq, encode_stream(kind, seq, payload_type, payload, flags)))
        return self._fill_window(_now(now))

    def _fill_window(self, now: float) -> list[bytes]:
        frames: list[bytes] = []
        while self._waiting and len(self._in_flight) < self.window:
            out = self._waiting.popleft()
            out.first_sent = out.last_sent = now
            self._in_flight[out.seq] = out
            frames.append(out.frame)
        return frames

    def ack(self, seq: int, now: float | None = None) -> list[bytes]:
        """Handle the peer's ack of `seq`; return the frames the freed window lets out."""
        now = _now(now)
        out = self._in_flight.pop(seq, None)
        if out is None:
            return []  # duplicate or unknown ack: harmless
        self._update_rto(now - out.first_sent)
        return self._fill_window(now)

    def _update_rto(self, sample: float) -> None:
        self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.rtt - sample)
        self.rtt = 0.875 * self.rtt + 0.125 * sample
        self.rto = min(MAX_RTO, self.rtt + max(MIN_RTO_VARIATION, 4 * self.rttvar))

    def due_retransmissions(self, now: float | None = None) -> list[bytes]:
        """Resend the oldest unacked message if it has waited `rto` since it was last sent."""
        now = _now(now)
        if not self._in_flight:
            return []
        head = next(iter(self._in_flight.values()))
        if now - head.last_sent < self.rto:
            return []
        if head.attempts >= self.max_attempts:
            raise RetransmissionExhausted(
                f"message {head.seq} unacknowledged after {head.attempts} resends"
            )
        head.attempts += 1
        head.last_sent = now
        self.retransmissions += 1
        return [head.frame]

    def next_deadline(self, now: float | None = None) -> float | None:
        """Seconds until `due_retransmissions` may have something to do (None: nothing unacked)."""
        if not self._in_flight:
            return None
        head = next(iter(self._in_flight.values()))
        return max(0.0, head.last_sent + self.rto - _now(now))

    def unacked_frames(self, now: float | None = None) -> list[bytes]:
        """All sent-but-unacked frames, oldest first (resend them all on a new socket)."""
        now = _now(now)
        for out in self._in_flight.values():
            out.last_sent = now
        return [out.frame for out in self._in_flight.values()]

    # --- incoming -------------------------------------------------------------------------------

    def receive(self, msg: ClientMessage, now: float | None = None) -> Received:
        """Handle one decoded message from the peer (see the module docstring)."""
        result = Received()
        if msg.message_type == ACKNOWLEDGE:
            result.send.extend(self.ack(parse_ack(msg.payload), now))
            return result
        if msg.message_type != self.incoming_type:
            result.deliver.append(msg)  # channel_closed, publication, unknown: caller decides
            return result
        seq = msg.sequence_number
        if seq < self.expected_seq or seq in self._reorder:
            self.duplicates += 1
            if self.reack_duplicates:
                result.send.append(encode_ack(msg))
            return result
        if seq > self.expected_seq:
            cost = len(msg.payload) + BUFFER_ENTRY_OVERHEAD
            if (
                len(self._reorder) < self.max_buffer
                and self.buffered_bytes + cost <= self.max_buffer_bytes
            ):
                self._reorder[seq] = msg
                self.buffered_bytes += cost
                result.send.append(encode_ack(msg))
            else:
                self.refused += 1
            return result
        if self.ack_on_arrival:
            result.send.append(encode_ack(msg))
        else:
            result.ack_after = msg
        result.deliver.append(msg)
        self.expected_seq += 1
        while self.expected_seq in self._reorder:
            drained = self._reorder.pop(self.expected_seq)
            self.buffered_bytes -= len(drained.payload) + BUFFER_ENTRY_OVERHEAD
            result.deliver.append(drained)
            self.expected_seq += 1
        return result

    @property
    def buffered(self) -> int:
        """Out-of-order messages waiting for a gap to fill."""
        return len(self._reorder)
