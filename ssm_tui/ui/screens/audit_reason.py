"""The reason prompt on connect: profiles with `require_reason = true` ask before StartSession.

The reason goes to AWS as StartSession's `Reason` (1 to 256 characters), so it shows in the
console's session history, DescribeSessions, CloudTrail and ssm-tui's history, search and watch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

REASON_MAX = 256


class ReasonPrompt(ModalScreen[str | None]):
    """Asks for the reason; Enter with text starts the session, Escape starts nothing."""

    DEFAULT_CSS = """
    ReasonPrompt { align: center middle; }
    ReasonPrompt #reason-box {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    ReasonPrompt #reason-note { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]

    def __init__(self, profile: str, target: str) -> None:
        super().__init__()
        self.profile = profile
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Static(
                f"Profile {self.profile} requires a reason for sessions ({self.target}):",
                markup=False,
            )
            yield Input(placeholder="TICKET-123 restart nginx", max_length=REASON_MAX)
            yield Static("Enter to connect, Escape to cancel", id="reason-note", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_reason(main: Any, instance: Any, choice: Any) -> bool:
    """True when a prompt was shown: the session then opens from its answer (or not at all)."""
    if getattr(choice, "reason", None):
        return False
    try:
        required = main.services.get_settings().requires_reason(instance.profile)
    except Exception:  # noqa: BLE001 - settings errors are reported where they are loaded
        return False
    if not required:
        return False

    def answered(reason: str | None) -> None:
        if reason:
            main.open_session(instance, replace(choice, reason=reason))

    main.app.push_screen(
        ReasonPrompt(instance.profile, instance.name or instance.instance_id), answered
    )
    return True
