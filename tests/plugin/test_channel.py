"""The reliability engine: two real Channel ends wired through a lossy, reordering 'network'."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.channel import MAX_RTO, Channel, RetransmissionExhausted


def _decode_all(frames: list[bytes]) -> list[m.ClientMessage]:
    return [m.decode(f) for f in frames]


def _payloads(delivered: list[m.ClientMessage]) -> list[bytes]:
    return [d.payload for d in delivered]


def test_in_order_delivery_acks_each_message() -> None:
    client, server = Channel.for_client(), Channel.for_server()
    frames = client.send(m.PayloadType.OUTPUT, b"a", now=0) + client.send(
        m.PayloadType.OUTPUT, b"b", now=0
    )
    assert [x.sequence_number for x in _decode_all(frames)] == [0, 1]
    delivered = []
    for msg in _decode_all(frames):
        result = server.receive(msg, now=0.01)
        delivered += result.deliver
        for ack in _decode_all(result.send):
            assert ack.message_type == m.ACKNOWLEDGE
            client.receive(ack, now=0.02)
    assert _payloads(delivered) == [b"a", b"b"]
    assert client.idle


def test_server_flags_syn_on_first_message_only() -> None:
    server = Channel.for_server()
    first = m.decode(server.send(m.PayloadType.OUTPUT, b"x", now=0)[0])
    second = m.decode(server.send(m.PayloadType.OUTPUT, b"y", now=0)[0])
    assert (first.flags, second.flags) == (1, 0)
    assert first.message_type == m.OUTPUT_STREAM_DATA


def test_out_of_order_is_buffered_acked_and_drained_in_order() -> None:
    sender, receiver = Channel.for_server(), Channel.for_client()
    msgs = _decode_all([sender.send(1, bytes([i]), now=0)[0] for i in range(4)])
    r3 = receiver.receive(msgs[3], now=0)
    r1 = receiver.receive(msgs[1], now=0)
    assert r3.deliver == [] and r1.deliver == []
    assert [m.parse_ack(m.decode(f).payload) for f in r3.send + r1.send] == [3, 1]
    assert receiver.buffered == 2
    r0 = receiver.receive(msgs[0], now=0)
    assert _payloads(r0.deliver) == [b"\x00", b"\x01"]
    assert len(r0.send) == 1  # only msg 0 acked now; 1 was acked on arrival
    r2 = receiver.receive(msgs[2], now=0)
    assert _payloads(r2.deliver) == [b"\x02", b"\x03"]
    assert receiver.buffered == 0


def test_duplicates_are_not_delivered_twice_and_reacked_when_asked() -> None:
    sender = Channel.for_server()
    msgs = _decode_all([sender.send(1, b"x", now=0)[0], sender.send(1, b"y", now=0)[0]])
    for reack in (True, False):
        receiver = Channel.for_client(reack_duplicates=reack)
        assert _payloads(receiver.receive(msgs[0]).deliver) == [b"x"]
        dup = receiver.receive(msgs[0])
        assert dup.deliver == []
        assert len(dup.send) == (1 if reack else 0)
        # a duplicate of a buffered (future) message
        fresh = Channel.for_client(reack_duplicates=reack)
        fresh.receive(msgs[1])
        assert fresh.receive(msgs[1]).deliver == []
        assert _payloads(fresh.receive(msgs[0]).deliver) == [b"x", b"y"]


def test_lost_message_is_retransmitted_after_rto_with_identical_bytes() -> None:
    client = Channel.for_client()
    (frame,) = client.send(m.PayloadType.OUTPUT, b"lost", now=10.0)
    assert client.due_retransmissions(now=10.1) == []
    assert client.next_deadline(now=10.1) == pytest.approx(0.1)
    assert client.due_retransmissions(now=10.25) == [frame]
    assert client.due_retransmissions(now=10.35) == []  # once per RTO, not every tick
    assert client.due_retransmissions(now=10.5) == [frame]
    server = Channel.for_server()
    result = server.receive(m.decode(frame), now=10.41)
    client.receive(m.decode(result.send[0]), now=10.42)
    assert client.idle and client.due_retransmissions(now=20) == []
    assert client.next_deadline(now=20) is None


def test_only_the_head_is_resent() -> None:
    client = Channel.for_client()
    f0 = client.send(1, b"0", now=0)[0]
    f1 = client.send(1, b"1", now=0)[0]
    assert client.due_retransmissions(now=1) == [f0]
    client.ack(0, now=1.0)
    assert client.due_retransmissions(now=1.0) == [f1]


def test_rto_follows_samples_and_is_capped() -> None:
    client = Channel.for_client()
    client.send(1, b"a", now=0)
    client.ack(0, now=0.1)  # sample equals the initial RTT
    assert client.rto == pytest.approx(0.11)
    for i in range(1, 40):
        client.send(1, b"a", now=i * 10)
        client.ack(i, now=i * 10 + 5)  # 5 s samples
    assert client.rto == MAX_RTO


def test_window_holds_back_and_acks_release() -> None:
    client = Channel.for_client(window=2)
    sent = [client.send(1, bytes([i]), now=0) for i in range(5)]
    assert [len(s) for s in sent] == [1, 1, 0, 0, 0]
    assert (client.unacked, client.queued) == (2, 3)
    released = client.ack(1, now=0.01)
    assert [m.decode(f).sequence_number for f in released] == [2]
    ack0 = m.make_ack(m.decode(sent[0][0]))
    result = client.receive(ack0, now=0.02)
    assert [m.decode(f).sequence_number for f in result.send] == [3]
    assert client.ack(99) == []  # unknown ack is harmless


def test_unacked_frames_for_reconnect() -> None:
    client = Channel.for_client()
    frames = [client.send(1, bytes([i]), now=0)[0] for i in range(3)]
    client.ack(1, now=0.05)
    assert client.unacked_frames(now=0.06) == [frames[0], frames[2]]


def test_retransmission_gives_up() -> None:
    client = Channel.for_client(max_attempts=2)
    client.send(1, b"a", now=0)
    assert client.due_retransmissions(now=1)
    assert client.due_retransmissions(now=2)
    with pytest.raises(RetransmissionExhausted):
        client.due_retransmissions(now=3)


def test_non_sequenced_messages_are_delivered_as_they_come() -> None:
    client = Channel.for_client()
    closed = m.channel_closed_message("s-1")
    result = client.receive(closed)
    assert result.deliver == [closed] and result.send == []


@given(
    seed=st.integers(0, 2**32),
    loss=st.floats(0, 0.5),
    count=st.integers(1, 60),
    window=st.integers(1, 20),
)
@settings(max_examples=60, deadline=None)
def test_lossy_reordering_network_delivers_everything_once_in_order(
    seed: int, loss: float, count: int, window: int
) -> None:
    """Frames in both directions are shuffled, duplicated and dropped; time only moves forward."""
    rng = random.Random(seed)
    a, b = Channel.for_client(window=window), Channel.for_server(window=window)
    to_b: list[bytes] = []
    to_a: list[bytes] = []
    delivered_b: list[bytes] = []
    now = 0.0
    for i in range(count):
        to_b += a.send(1, i.to_bytes(2, "big"), now=now)
    for _ in range(20000):
        if len(delivered_b) == count and a.idle:
            break
        now += 0.05
        to_b += a.due_retransmissions(now)
        rng.shuffle(to_b)
        rng.shuffle(to_a)
        batch_b = to_b[: rng.randint(0, len(to_b))]
        to_b = to_b[len(batch_b) :]
        for frame in batch_b:
            if rng.random() < loss:
                continue
            if rng.random() < 0.1:
                to_b.append(frame)  # duplicated later
            result = b.receive(m.decode(frame), now)
            delivered_b += _payloads(result.deliver)
            to_a += result.send
        batch_a = to_a[: rng.randint(0, len(to_a))]
        to_a = to_a[len(batch_a) :]
        for frame in batch_a:
            if rng.random() < loss:
                continue
            to_b += a.receive(m.decode(frame), now).send
    assert delivered_b == [i.to_bytes(2, "big") for i in range(count)]
    assert a.idle


def test_reorder_buffer_is_capped_in_bytes_and_refused_messages_come_back() -> None:
    """300 x 1 MiB frames ahead of a gap held ~300 MB before: the byte cap bounds it."""
    from ssm_tui.plugin.channel import MAX_BUFFER_BYTES

    server = Channel.for_server(window=1000)
    client = Channel.for_client()
    big = b"B" * (1 << 20)
    frames = [m.decode(server.send(m.PayloadType.OUTPUT, big, now=0.0)[0]) for _ in range(301)]
    gap, ahead = frames[0], frames[1:]
    for msg in ahead:
        assert not client.receive(msg, now=0.0).deliver
    assert 0 < client.buffered_bytes <= MAX_BUFFER_BYTES
    assert client.refused == 300 - client.buffered > 0
    kept = client.buffered
    assert len(client.receive(gap, now=0.0).deliver) == 1 + kept
    assert client.buffered == 0 and client.buffered_bytes == 0
    # the refused ones were never acked: the peer resends them and they are delivered in order
    delivered = [d for msg in ahead for d in client.receive(msg, now=0.0).deliver]
    assert [d.sequence_number for d in delivered] == list(range(kept + 1, 301))
