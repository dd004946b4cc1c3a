"""Session transcripts, written where Session Manager logging writes them.

When a shell session ends, Session Manager uploads everything the session printed to the
CloudWatch Logs group (one stream named by the session id) and to S3 as `prefix/SESSIONID.log`,
both named by the account's `SSM-SessionManagerRunShell` preferences (`session.logging`). The
output is kept raw: colours, cursor moves, window titles and whatever else the remote side wrote,
because a transcript viewer has to cope with exactly that (it must show it safely, never obey it).

Each CloudWatch event packs whole lines up to 200,000 bytes, as the agent's uploader does, stamped
with the time its first byte was printed, so a viewer can jump to a moment of the session; S3 gets
the bytes as they came.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import quote

from ssm_tui.sandbox.context import SandboxContext
from ssm_tui.sandbox.sessions import SandboxSession

MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024
"""Output kept per session; beyond this only the end of the session is written (with a note)."""

MAX_EVENT_BYTES = 200_000
"""The agent's `MessageLengthThresholdInBytes`: lines are packed into events up to this size, a
longer line is split over several events (CloudWatch's own limit is 256 KB)."""

EVENT_SPAN_MS = 1000
"""Lines printed within this span share an event: the agent uploads what is new every so often,
so a slow session's events keep times a viewer can jump between."""

EVENTS_PER_CALL = 10_000
"""PutLogEvents accepts at most 10 000 events per call."""

TRUNCATION_NOTE = b"\r\n[ssm-tui sandbox: transcript truncated, %d bytes of output not kept]\r\n"


@dataclass(slots=True)
class Transcript:
    """Everything a session printed, with the time each piece arrived (epoch milliseconds)."""

    limit: int = MAX_TRANSCRIPT_BYTES
    chunks: deque[tuple[int, bytes]] = field(default_factory=deque)
    size: int = 0
    dropped: int = 0

    def add(self, data: bytes, when_ms: int | None = None) -> None:
        """Record output; past the limit the oldest output goes (the end of a session matters)."""
        if not data:
            return
        stamp = time.time_ns() // 1_000_000 if when_ms is None else when_ms
        self.chunks.append((stamp, data))
        self.size += len(data)
        while self.size > self.limit and len(self.chunks) > 1:
            _, old = self.chunks.popleft()
            self.size -= len(old)
            self.dropped += len(old)

    def raw(self) -> bytes:
        """The transcript as S3 stores it."""
        body = b"".join(data for _, data in self.chunks)
        if self.dropped:
            return (TRUNCATION_NOTE % self.dropped) + body
        return body

    def events(self) -> list[tuple[int, str]]:
        """CloudWatch events as the agent builds them: whole lines packed into one event up to
        `MAX_EVENT_BYTES` (and `EVENT_SPAN_MS`), stamped with the time of its first byte.

        The agent's uploader (cloudwatchlogsservice.go, `MessageLengthThresholdInBytes`) reads
        lines with a buffer of the threshold's size and appends them to the event until the next
        would pass it; a longer line comes in threshold-sized slices. One event per line, as this
        once did, cost moto ~485 MB resident per 16 MB transcript, kept for the sandbox's life.
        """
        events: list[tuple[int, str]] = []
        if self.dropped:
            stamp = self.chunks[0][0] if self.chunks else time.time_ns() // 1_000_000
            events.append((stamp, (TRUNCATION_NOTE % self.dropped).decode().strip()))
        message = bytearray()
        began = 0  # time of the message's first byte

        def emit() -> None:
            events.append((began, _text(message)))
            message.clear()

        # Slices, not lines: a flood of short lines is packed with a few C-level searches.
        for stamp, data in self.chunks:
            pos = 0
            if message and stamp - began >= EVENT_SPAN_MS:
                if not message.endswith(b"\n"):  # finish the open line first
                    newline = data.find(b"\n")
                    cut = len(data) if newline < 0 else newline + 1
                    cut = min(cut, MAX_EVENT_BYTES - len(message))
                    message += data[:cut]
                    pos = cut
                if message.endswith(b"\n") or len(message) >= MAX_EVENT_BYTES:
                    emit()
            while pos < len(data):
                if not message:
                    began = stamp
                room = MAX_EVENT_BYTES - len(message)
                if len(data) - pos < room:
                    message += data[pos:]
                    break
                cut = data.rfind(b"\n", pos, pos + room)
                if cut >= 0:  # whole lines that fit; the next line starts the next event
                    message += data[pos : cut + 1]
                    pos = cut + 1
                elif not message or not message.endswith(b"\n"):  # a long line: a full slice
                    message += data[pos : pos + room]
                    pos += room
                emit()
        if message:
            emit()
        return events


def _text(data: bytes | bytearray) -> str:
    """CloudWatch events are text: invalid UTF-8 becomes U+FFFD, everything else stays raw."""
    return bytes(data).decode("utf-8", errors="replace")


def s3_key(session: SandboxSession) -> str | None:
    """`prefix/SESSIONID.log` (no prefix: just the file name), or None when S3 logging is off."""
    prefs = session.logging
    if prefs is None or not prefs.s3_bucket:
        return None
    prefix = prefs.s3_prefix.strip("/")
    name = f"{session.session_id}.log"
    return f"{prefix}/{name}" if prefix else name


def output_urls(session: SandboxSession) -> dict[str, str]:
    """What DescribeSessions shows as OutputUrl: console links to the written transcript."""
    urls: dict[str, str] = {}
    prefs = session.logging
    if prefs is None:
        return urls
    key = s3_key(session)
    if prefs.s3_bucket and key:
        urls["S3OutputUrl"] = (
            f"https://s3.console.aws.amazon.com/s3/object/{prefs.s3_bucket}"
            f"?region={session.region}&prefix={quote(key, safe='/')}"
        )
    if prefs.log_group:
        urls["CloudWatchOutputUrl"] = (
            f"https://console.aws.amazon.com/cloudwatch/home?region={session.region}"
            f"#logEventViewer:group={quote(prefs.log_group, safe='/')};"
            f"stream={quote(session.session_id)}"
        )
    return urls


def write_transcript(
    context: SandboxContext, session: SandboxSession, transcript: Transcript
) -> dict[str, str]:
    """Write the transcript to CloudWatch Logs and S3 as `session.logging` says; set OutputUrl.

    Blocking (moto's backends are plain Python behind a lock): run it in a worker thread. Each
    destination is written independently, so one failing (a bucket that does not exist) never
    loses the other; the failures are returned as {destination: message}.
    """
    prefs = session.logging
    errors: dict[str, str] = {}
    if prefs is None:
        return errors
    written: dict[str, str] = {}
    urls = output_urls(session)
    finish_stream = getattr(transcript, "finish_stream", None)
    if prefs.log_group and prefs.cloudwatch_streaming and finish_stream is not None:
        try:  # streamed while it ran (`sandbox/streaming.py`): only the rest goes now
            finish_stream()
            written["CloudWatchOutputUrl"] = urls["CloudWatchOutputUrl"]
        except Exception as exc:  # noqa: BLE001
            errors["cloudwatch"] = f"{type(exc).__name__}: {exc}"
    elif prefs.log_group:
        try:
            events = transcript.events()
            if not events:
                context.write_log_events(
                    session.account_id, session.region, prefs.log_group, session.session_id, []
                )
            for start in range(0, len(events), EVENTS_PER_CALL):
                context.write_log_events(
                    session.account_id,
                    session.region,
                    prefs.log_group,
                    session.session_id,
                    events[start : start + EVENTS_PER_CALL],
                )
            written["CloudWatchOutputUrl"] = urls["CloudWatchOutputUrl"]
        except Exception as exc:  # noqa: BLE001 - any backend failure is reported, not raised
            errors["cloudwatch"] = f"{type(exc).__name__}: {exc}"
    key = s3_key(session)
    if prefs.s3_bucket and key:
        try:
            context.put_s3_object(session.account_id, prefs.s3_bucket, key, transcript.raw())
            written["S3OutputUrl"] = urls["S3OutputUrl"]
        except Exception as exc:  # noqa: BLE001
            errors["s3"] = f"{type(exc).__name__}: {exc}"
    session.output_url = written
    return errors
