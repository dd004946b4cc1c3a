"""The sandbox's CloudWatch transcripts pack lines into events as the agent does (issue 13).

One event per output line made moto hold ~485 MB per 16 MB transcript for the sandbox's life
(3.9 GB after ~100 sessions). The agent's uploader packs whole lines into events of up to
200,000 bytes (cloudwatchlogsservice.go, MessageLengthThresholdInBytes); so does the sandbox now.
"""

from __future__ import annotations

import tracemalloc

from ssm_tui.sandbox.transcripts import EVENT_SPAN_MS, MAX_EVENT_BYTES, Transcript


def test_a_flood_makes_few_events_holding_its_whole_lines() -> None:
    transcript = Transcript()
    for start in range(1, 2_000_001, 20_000):  # `seq 1 2000000`, ~15.8 MB in one second
        transcript.add("".join(f"{i}\r\n" for i in range(start, start + 20_000)).encode(), 5)
    tracemalloc.start()
    try:
        events = transcript.events()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = transcript.size
    assert len(events) <= size // (MAX_EVENT_BYTES // 2)  # ~80, not 2,000,000
    assert "".join(message for _, message in events).encode() == transcript.raw()
    assert all(message.endswith("\n") for _, message in events)
    assert held < 2 * size  # the text once, not a Python object per line


def test_slow_output_keeps_its_times_and_long_lines_are_split() -> None:
    transcript = Transcript()
    transcript.add(b"first\n", 1_000)
    transcript.add(b"second\n", 1_000 + EVENT_SPAN_MS)
    transcript.add(b"x" * (MAX_EVENT_BYTES + 10) + b"\n", 9_000)
    events = transcript.events()
    assert [stamp for stamp, _ in events] == [1_000, 1_000 + EVENT_SPAN_MS, 9_000, 9_000]
    assert [len(m) for _, m in events] == [6, 7, MAX_EVENT_BYTES, 11]
