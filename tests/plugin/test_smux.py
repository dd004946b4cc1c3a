"""smux v1 framing: ids, frames split anywhere, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssm_tui.plugin import smux


def test_stream_ids_and_frames() -> None:
    client = smux.SmuxClient()
    first, syn = client.open()
    second, _ = client.open()
    assert (first, second) == (3, 5)
    assert syn == bytes([1, 0, 0, 0, 3, 0, 0, 0])
    assert client.data(3, b"hi") == bytes([1, 2, 2, 0, 3, 0, 0, 0]) + b"hi"
    assert client.close(3) == bytes([1, 1, 0, 0, 3, 0, 0, 0])
    assert client.close(3) == b""  # once only
    big = client.data(5, b"x" * 70_000)
    assert len(big) == 70_000 + 3 * 8


@given(st.lists(st.binary(min_size=0, max_size=300), max_size=10), st.data())
def test_frames_split_anywhere_reassemble(chunks: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(smux.frame(smux.PSH, 3, c) for c in chunks) + smux.frame(smux.FIN, 3)
    stream = smux.frame(smux.NOP, 0) + stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    client = smux.SmuxClient()
    events = []
    last = 0
    for cut in [*cuts, len(stream)]:
        events += client.feed(stream[last:cut])
        last = cut
    assert b"".join(e.data for e in events) == b"".join(chunks)
    assert events[-1] == smux.StreamEvent(3, fin=True)


def test_bad_version_is_an_error() -> None:
    with pytest.raises(smux.SmuxError, match="version"):
        smux.SmuxClient().feed(bytes([2, 0, 0, 0, 3, 0, 0, 0]))
