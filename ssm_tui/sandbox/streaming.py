"""Transcripts streamed to CloudWatch Logs while the session runs (`cloudWatchStreamingEnabled`).

With streaming on in the Session Manager preferences the agent does not upload the transcript to
CloudWatch at the end; it streams it instead (agent: `session/shell/shell.go` startStreamingLogs
and finishLogging, `agentlogstocloudwatch/cloudwatchlogspublisher/cloudwatchlogsservice.go`
StreamData/getNextMessage/buildEventInfo), and S3 still gets the whole file at the end. What it
does, and so what this does:

- every `UploadFrequency` (1 s) it reads the lines completed since the last upload, at most
  `maxNumberOfEventsPerCall` (4) events per PutLogEvents, each event up to
  `StreamMessageLengthThresholdInBytes` (33,000) bytes of whole lines; an unfinished line waits
  for its newline (or the session's end);
- ANSI sequences are stripped on Linux (`isCleanupOfControlCharactersRequired`), `\\r` removed,
  tabs turned into spaces, and each event is one JSON object ("structured logs"):
  `{"eventVersion": "1.0", "eventTime", "awsRegion", "target": {"id"}, "userIdentity": {"arn"},
  "runAsUser", "sessionId", "sessionData": [lines]}`, stamped with the upload time;
- when the shell ends, what is left is uploaded before the session closes (here at once, in
  calls of 10,000 events, rather than 4 a second: a flood must not hold the close for minutes).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ssm_tui.sandbox.context import SandboxContext
from ssm_tui.sandbox.sessions import SandboxSession
from ssm_tui.sandbox.transcripts import MAX_TRANSCRIPT_BYTES, Transcript

UPLOAD_FREQUENCY = 1.0
EVENTS_PER_CALL = 4
EVENT_BYTES = 33_000
FINAL_EVENTS_PER_CALL = 10_000
RUN_AS_USER = "ssm-user"
"""The agent's default user; a session's own is `SandboxSession.run_as_user` (`run_as.py`)."""

_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(slots=True)
class StreamingTranscript(Transcript):
    """A transcript that also streams its lines to CloudWatch Logs as the agent does."""

    context: SandboxContext | None = None
    session: SandboxSession | None = None
    pending: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)
    task: asyncio.Task[None] | None = None
    finished: bool = False
    skipped: int = 0
    """Bytes dropped from the stream because it fell behind by more than the transcript limit."""

    def add(self, data: bytes, when_ms: int | None = None) -> None:
        Transcript.add(self, data, when_ms)
        if not data or self.finished:
            return
        with self.lock:
            self.pending += data
            if len(self.pending) > MAX_TRANSCRIPT_BYTES:
                cut = len(self.pending) - MAX_TRANSCRIPT_BYTES
                del self.pending[:cut]
                self.skipped += cut
        if self.task is None and self.context is not None:
            self.task = self.context.loop.create_task(self._stream())

    async def _stream(self) -> None:
        while not self.finished:
            await asyncio.sleep(UPLOAD_FREQUENCY)
            if self.finished:
                return
            events = self._take(EVENTS_PER_CALL, final=False)
            if events:
                await asyncio.to_thread(self._put, events)
            if self.session is not None and not self.session.active:
                # ended without the data channel's final write (killed): upload the rest
                await asyncio.to_thread(self.finish_stream)
                return

    def finish_stream(self) -> None:
        """The shell ended: upload what is left, unfinished line included (any thread)."""
        if self.finished:
            return
        self.finished = True
        while events := self._take(FINAL_EVENTS_PER_CALL, final=True):
            self._put(events)
        if self.context is not None and self.session is not None:
            prefs = self.session.logging
            if prefs is not None and prefs.log_group:  # the stream exists even when silent
                self.context.write_log_events(
                    self.session.account_id,
                    self.session.region,
                    prefs.log_group,
                    self.session.session_id,
                    [],
                )

    def _take(self, limit: int, *, final: bool) -> list[str]:
        """Up to `limit` events of whole lines (the unfinished line too when `final`)."""
        events: list[str] = []
        with self.lock:
            while len(events) < limit and self.pending:
                room = min(len(self.pending), EVENT_BYTES)
                cut = self.pending.rfind(b"\n", 0, room)
                if cut >= 0:
                    size = cut + 1
                elif len(self.pending) >= EVENT_BYTES:
                    size = EVENT_BYTES  # a line longer than an event: a full slice
                elif final:
                    size = len(self.pending)
                else:
                    break  # an unfinished line waits for its newline
                chunk = bytes(self.pending[:size])
                del self.pending[:size]
                events.append(self._message(chunk))
        return events

    def _message(self, chunk: bytes) -> str:
        session = self.session
        text = _ANSI.sub(b"", chunk).decode("utf-8", "replace")
        text = text.replace("\t", " ").replace("\r", "")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return json.dumps(
            {
                "eventVersion": "1.0",
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "awsRegion": session.region if session else "",
                "target": {"id": session.target if session else ""},
                "userIdentity": {"arn": session.owner if session else ""},
                "runAsUser": session.run_as_user if session else RUN_AS_USER,
                "sessionId": session.session_id if session else "",
                "sessionData": lines,
            }
        )

    def _put(self, messages: list[str]) -> None:
        session, context = self.session, self.context
        if session is None or context is None or session.logging is None:
            return
        group = session.logging.log_group
        if not group:
            return
        now = time.time_ns() // 1_000_000
        try:
            context.write_log_events(
                session.account_id,
                session.region,
                group,
                session.session_id,
                [(now, message) for message in messages],
            )
        except Exception:  # noqa: BLE001 - as the agent: a failed upload is retried next tick
            with self.lock:
                restored = "".join(
                    line + "\n" for m in messages for line in json.loads(m)["sessionData"]
                )
                self.pending[:0] = restored.encode()


def transcript_for(session: SandboxSession, context: SandboxContext) -> Transcript:
    """The transcript a session keeps: streamed when its preferences say so."""
    prefs = session.logging
    if prefs is not None and prefs.log_group and prefs.cloudwatch_streaming:
        return StreamingTranscript(context=context, session=session)
    return Transcript()
