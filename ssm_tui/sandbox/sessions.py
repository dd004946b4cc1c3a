"""Session records shared by the sandbox's SSM API (StartSession & co.) and its data channel.

The SSM operations run in moto's WSGI thread pool; the data-channel websocket runs on the asyncio
loop. This registry is the one place they meet, so it is thread-safe and its listeners may be called
from any thread (a listener that touches asyncio must use `loop.call_soon_threadsafe`).

CONTRACT (owned by the sandbox API; consumed by `sandbox/datachannel.py`):
- `SessionRegistry.create(...)` is called by StartSession; `get(session_id)` by the websocket route.
- The websocket route rejects an unknown session id before accepting, then calls
  `datachannel.serve(websocket, session, context)`; the data channel checks the token itself.
- `terminate(session_id)` is called by TerminateSession (API) and by the data channel when the
  shell ends; it is idempotent, sets status/end date and fires the terminate listeners once.
- `resume(session_id)` (ResumeSession) issues a new token and returns it; None if ended.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LoggingPrefs:
    """Where Session Manager writes transcripts here (the SSM-SessionManagerRunShell document)."""

    log_group: str | None
    s3_bucket: str | None
    s3_prefix: str = ""
    cloudwatch_streaming: bool = False
    """`cloudWatchStreamingEnabled`: CloudWatch gets the transcript while the session runs
    (`sandbox/streaming.py`) instead of at its end."""


@dataclass(frozen=True, slots=True)
class InstanceView:
    """What the data channel needs to make a shell look like that instance."""

    instance_id: str
    name: str
    computer_name: str
    platform_type: str
    home: str | None = None
    """Working directory of the session's shell (per instance, so two instances look different)."""


@dataclass(slots=True)
class SandboxSession:
    session_id: str
    token: str
    account_id: str
    region: str
    target: str
    document_name: str
    parameters: dict[str, list[str]]
    owner: str
    reason: str | None
    instance: InstanceView
    logging: LoggingPrefs | None
    kms_key_id: str = ""
    """The preferences' kmsKeyId when the session started ("" = not encrypted; `sandbox/kms.py`)."""
    start_date: datetime = field(default_factory=lambda: datetime.now(UTC))
    end_date: datetime | None = None
    status: str = "Connected"
    """Connected while open; Terminated after TerminateSession or the shell's end."""
    output_url: dict[str, str] = field(default_factory=dict)
    """DescribeSessions OutputUrl: {"S3OutputUrl": ..., "CloudWatchOutputUrl": ...} once written."""
    document_content: dict[str, Any] | None = None
    """The document as stored when the session started (sessionType, properties); None: the
    AWS-published content of `document_name` is used."""
    run_as_user: str = "ssm-user"
    """The OS user the agent runs the shell as (`sandbox/run_as.py`); "" for port sessions."""

    @property
    def active(self) -> bool:
        return self.end_date is None


TerminateListener = Callable[[SandboxSession], None]


class SessionRegistry:
    """All sessions of all accounts, keyed by session id. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sessions: dict[str, SandboxSession] = {}
        self._listeners: dict[str, list[TerminateListener]] = {}

    def add(self, session: SandboxSession) -> SandboxSession:
        with self._lock:
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> SandboxSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def all(self) -> list[SandboxSession]:
        with self._lock:
            return list(self._sessions.values())

    def resume(self, session_id: str) -> str | None:
        """ResumeSession: a fresh token for a session that has not ended, else None."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.active:
                return None
            session.token = secrets.token_urlsafe(32)
            return session.token

    def on_terminate(self, session_id: str, listener: TerminateListener) -> None:
        with self._lock:
            self._listeners.setdefault(session_id, []).append(listener)

    def terminate(self, session_id: str) -> SandboxSession | None:
        """End a session (idempotent) and tell its listeners, outside the lock."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.active:
                return session
            session.end_date = datetime.now(UTC)
            session.status = "Terminated"
            listeners = self._listeners.pop(session_id, [])
        for listener in listeners:
            listener(session)
        return session
