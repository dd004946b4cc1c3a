"""App-level messages: workers post them, screens handle them on the event loop.

Workers never touch widgets; they post one of these and the screen updates its state in the
handler (harlequin's pattern). Messages that can arrive in bursts override `can_replace` so the
queue keeps only the newest (toolong's coalescing).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ssm_tui.aws.models import ScopeError, ScopeResult, StartedSession


@dataclass
class ScopeLoaded(Message):
    """One profile/region of the inventory finished (instances or an error)."""

    result: ScopeResult
    refresh_id: int
    """Which refresh posted it: results of a superseded refresh are dropped."""


@dataclass
class RefreshFinished(Message):
    """Every scope of a refresh reported."""

    refresh_id: int


@dataclass
class SessionOpened(Message):
    """StartSession succeeded; the screen mounts a pane running the plugin."""

    started: StartedSession
    argv: list[str]
    env: dict[str, str]
    plugin: str
    account_id: str
    title: str
    login_command: str | None
    view_id: str | None = None
    """Set when this reconnects an existing tab (its pane is replaced)."""


@dataclass
class SessionFailed(Message):
    """StartSession (or the plugin lookup) failed; shown as a notification with a next step."""

    error: ScopeError
    target: str
    view_id: str | None = None


@dataclass
class ClockTick(Message):
    """Periodic refresh trigger; coalesced so a busy loop never queues several."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClockTick)
