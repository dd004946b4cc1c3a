"""Session transcripts, written where Session Manager logging writes them.

When a shell session ends, Session Manager uploads everything the session printed to the
CloudWatch Logs group (one stream named by the session id) and to S3 as `prefix/SESSIONID.log`,
both named by the account's `SSM-SessionManagerRunShell` preferences (`session.logging`). The
output is kept raw: colours, cursor moves, window titles and whatever else the remote side wrote,
because a transcript viewer has to cope with exactly that (it must show it safely, never obey it).

Each CloudWatch event is one line of output stamped with the time its first byte was printed, so a
viewer can jump to a moment of the session; S3 gets the bytes as they came.
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

MAX_EVENT_BYTES = 64 * 1024
"""A line longer than this is split over several events (CloudWatch's own limit is 256 KB)."""

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
        """CloudWatch events: one per output line (newline kept), stamped with its first byte."""
        events: list[tuple[int, str]] = []
        line = bytearray()
        line_start: int | None = None
        if self.dropped:
            stamp = self.chunks[0][0] if self.chunks else time.time_ns() // 1_000_000
            events.append((stamp, (TRUNCATION_NOTE % self.dropped).decode().strip()))
        for stamp, data in self.chunks:
            start = 0
            while start < len(data):
                if line_start is None:
                    line_start = stamp
                newline = data.find(b"\n", start)
                end = len(data) if newline < 0 else newline + 1
                room = MAX_EVENT_BYTES - len(line)
                if end - start > room:
                    end = start + room
                line += data[start:end]
                start = end
                if line.endswith(b"\n") or len(line) >= MAX_EVENT_BYTES:
                    events.append((line_start, _text(line)))
                    line.clear()
                    line_start = None
        if line:
            events.append((line_start or 0, _text(line)))
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
    if prefs.log_group:
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
