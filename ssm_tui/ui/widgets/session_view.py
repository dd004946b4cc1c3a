"""One session tab: a title line, the terminal pane running the plugin, and its end state.

The view outlives its pane: when the plugin exits (shell ended, connection dropped, process
killed) the pane stays on screen with its last output, the title line says how it ended (exit
status) and the view takes focus so `r` reconnects and `ctrl+w` closes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ssm_tui.aws.models import Instance, StartedSession
from ssm_tui.ui.fleet_model import literal
from ssm_tui.ui.services import DocumentChoice


class SessionView(Vertical, can_focus=True):
    """A tab's content; `state` is starting → connected → ended (or failed)."""

    BINDING_GROUP_TITLE = "Session"

    BINDINGS = [
        Binding("r", "reconnect", "Reconnect", id="session.reconnect", tooltip="New session"),
    ]

    class ReconnectRequested(Message):
        def __init__(self, view: SessionView) -> None:
            super().__init__()
            self.view = view

    def __init__(
        self,
        instance: Instance,
        choice: DocumentChoice,
        *,
        id: str,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.instance = instance
        self.choice = choice
        self.started: StartedSession | None = None
        self.plugin = ""
        self.pane: Widget | None = None
        self.state = "starting"
        self.exit_status: int | None = None

    @property
    def title(self) -> str:
        name = self.instance.name or self.instance.instance_id
        suffix = "" if self.choice.label == "shell" else f" [{self.choice.label}]"
        return f"{name}{suffix}"

    def compose(self) -> ComposeResult:
        yield Static(self._title_line(), classes="session-title", markup=False)
        yield Static(
            f"Connecting to {self.instance.instance_id} through {self.instance.profile}…",
            classes="session-placeholder",
            markup=False,
        )

    def _title_line(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append_text(literal(self.instance.name or self.instance.instance_id))
        line.append(f"  {self.instance.instance_id}  {self.instance.profile}/")
        line.append(self.instance.region)
        if self.choice.label != "shell":
            line.append(f"  {self.choice.label}", style="bold")
        if self.started is not None:
            line.append(f"  session {self.started.session_id}", style="dim")
        if self.plugin:
            line.append(f"  ({self.plugin} plugin)", style="dim")
        if self.state == "ended":
            status = "?" if self.exit_status is None else str(self.exit_status)
            line.append(f"  ■ ended (exit status {status}) — r: reconnect, ctrl+w: close",
                        style="bold red")  # fmt: skip
        elif self.state == "failed":
            line.append("  ■ could not connect — r: retry, ctrl+w: close", style="bold red")
        elif self.state == "connected":
            line.append("  ● connected", style="bold green")
        return line

    def _redraw_title(self) -> None:
        self.query_one(".session-title", Static).update(self._title_line())

    async def attach(self, started: StartedSession, launch: Any) -> Widget:
        """Mount a terminal pane running the plugin for `started` (`launch`: a
        `PluginLaunch`); replaces any old pane."""
        from ssm_tui.ui.widgets.terminal import TerminalPane

        self.started = started
        self.plugin = launch.label
        self.state = "connected"
        self.exit_status = None
        await self.query(".session-placeholder").remove()
        if self.pane is not None:
            await self.pane.remove()
        self.pane = TerminalPane(
            argv=launch.argv, env=launch.env, title=self.title, pass_fds=launch.pass_fds
        )
        await self.mount(self.pane)
        self._redraw_title()
        self.pane.focus()
        return self.pane

    def mark_starting(self) -> None:
        """A new StartSession for this tab (reconnect)."""
        self.state = "starting"

    def mark_ended(self, exit_status: int | None) -> None:
        self.state = "ended"
        self.exit_status = exit_status
        self._redraw_title()
        if self.pane is not None and self.pane.has_focus:
            self.focus()

    def mark_failed(self, message: str) -> None:
        self.state = "failed"
        placeholder = self.query(".session-placeholder")
        if placeholder:
            placeholder.first(Static).update(Text(message))
        self._redraw_title()

    def terminate_process(self) -> None:
        """Kill the plugin process (the screen ends the AWS session itself)."""
        if self.pane is not None:
            terminate = getattr(self.pane, "terminate", None)
            if terminate is not None:
                terminate()

    def action_reconnect(self) -> None:
        if self.state in ("ended", "failed"):
            self.post_message(self.ReconnectRequested(self))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reconnect":
            return self.state in ("ended", "failed")
        return True
