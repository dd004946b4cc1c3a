"""App-level messages: workers post them, screens handle them on the event loop.

Workers never touch widgets; they post one of these and the screen updates its state in the
handler (harlequin's pattern). Messages that can arrive in bursts override `can_replace` so the
queue keeps only the newest (toolong's coalescing).

Plain classes rather than dataclasses: this module loads before the first frame, and each
dataclass costs ~0.3-0.9 ms to define there.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ssm_tui.aws.models import ScopeError, ScopeResult, StartedSession


class ScopeLoaded(Message):
    """One profile/region of the inventory finished (instances or an error)."""

    def __init__(self, result: ScopeResult, refresh_id: int) -> None:
        super().__init__()
        self.result = result
        self.refresh_id = refresh_id
        """Which refresh posted it: results of a superseded refresh are dropped."""


class RefreshFinished(Message):
    """Every scope of a refresh reported."""

    def __init__(self, refresh_id: int) -> None:
        super().__init__()
        self.refresh_id = refresh_id


class SessionOpened(Message):
    """StartSession succeeded; the screen mounts a pane running the plugin."""

    def __init__(
        self,
        started: StartedSession,
        launch: Any,
        account_id: str,
        title: str,
        login_command: str | None,
        view_id: str | None = None,
    ) -> None:
        super().__init__()
        self.started = started
        self.launch = launch
        """`ssm_tui.plugin.launcher.PluginLaunch`: how to run the plugin."""
        self.account_id = account_id
        self.title = title
        self.login_command = login_command
        self.view_id = view_id
        """Set when this reconnects an existing tab (its pane is replaced)."""


class SessionFailed(Message):
    """StartSession (or the plugin lookup) failed; shown as a notification with a next step."""

    def __init__(self, error: ScopeError, target: str, view_id: str | None = None) -> None:
        super().__init__()
        self.error = error
        self.target = target
        self.view_id = view_id


class ClockTick(Message):
    """Periodic refresh trigger; coalesced so a busy loop never queues several."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClockTick)


class TranscriptRequested(Message):
    """A panel asks for a transcript (a `TranscriptRef`, or a session id to look up with its
    profile and region); the screen opens the viewer, so widgets never import screens."""

    def __init__(
        self,
        ref: Any = None,
        *,
        session_id: str | None = None,
        profile: str | None = None,
        region: str | None = None,
    ) -> None:
        super().__init__()
        self.ref = ref
        self.session_id = session_id
        self.profile = profile
        self.region = region
