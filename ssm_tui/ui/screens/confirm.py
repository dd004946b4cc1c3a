"""A one-key confirmation (ctrl+w on a live session, ctrl+q with live sessions; issue 15).

Ending a session by accident loses the remote shell's state, so those two keys ask first. The
answer takes one key: `y`, Enter, or the same key again (ctrl+w ctrl+w, ctrl+q ctrl+q); `n` or
Escape keeps everything. The setting `confirm_close = false` turns the question off
(`ConfirmScreen.wanted`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


def wanted(settings: object) -> bool:
    """Whether to ask (the `confirm_close` setting, on unless turned off)."""
    return bool(getattr(settings, "confirm_close", True))


class ConfirmScreen(ModalScreen[bool]):
    """Asks one yes/no question; dismisses with True on the confirming key."""

    CSS_PATH = "../styles/confirm.tcss"
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "", again: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.again = again
        """The key that asked (ctrl+w, ctrl+q): pressed again, it confirms."""
        if again:
            self._bindings.bind(again, "answer(True)", show=False, priority=True)

    def compose(self) -> ComposeResult:
        shown = self.app.get_key_display(Binding(self.again, "")) if self.again else ""
        keys = Text.assemble(
            ("y", "bold"), "/", ("Enter", "bold"),
            *((" or ", (shown, "bold"), " again") if shown else ()),
            ": yes    ", ("n", "bold"), "/", ("Esc", "bold"), ": no",
        )  # fmt: skip
        with Vertical(id="confirm"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            if self.detail:
                yield Static(Text(self.detail), id="confirm-detail")
            yield Static(keys, id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def _live(view: object) -> bool:
    """A session tab whose session is starting or open (an ended or failed one is not)."""
    return getattr(view, "state", None) in ("starting", "connected")


def ask_then(
    app: App[object], question: str, detail: str, again: str, then: Callable[[], object]
) -> None:
    """Run `then` once the user confirmed (at once when the setting turns the question off)."""
    services = getattr(app, "services", None)
    if services is not None and not wanted(services.get_settings()):
        then()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            then()

    app.push_screen(ConfirmScreen(question, detail, again), answered)


def close_tab(app: App[object], view: object, close: Callable[[], object]) -> None:
    """ctrl+w: a live session asks first; an ended or failed tab closes at once."""
    if not _live(view):
        close()
        return
    title = getattr(view, "title", "this session")
    ask_then(app, f"End the session on {title}?", "Its shell and programs end.", "ctrl+w", close)


def quit_app(app: App[Any], quit_now: Callable[[], object]) -> None:
    """ctrl+q: asks when sessions are open or starting; quits at once otherwise."""
    from ssm_tui.ui.widgets.session_view import SessionView

    views = [v for s in app.screen_stack for v in s.query(SessionView) if _live(v)]
    count = len(views)  # a tab that ended is already ending its AWS session: nothing to lose
    if not count:
        quit_now()
        return
    noun = "session" if count == 1 else f"{count} sessions"
    detail = ", ".join(v.title for v in views[:4]) + (" …" if len(views) > 4 else "")
    ask_then(app, f"End {'the' if count == 1 else 'all'} {noun} and quit?", detail, "ctrl+q",
             quit_now)  # fmt: skip
