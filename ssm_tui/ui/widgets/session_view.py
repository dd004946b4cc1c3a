"""One session tab: a title line, the terminal pane running the plugin, and its end state.

The view outlives its pane: when the plugin exits (shell ended, connection dropped, process
killed) the pane stays on screen with its last output, the title line says how it ended (exit
status) and the view takes focus so `r` reconnects and `ctrl+w` closes.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ssm_tui.aws.models import Instance, StartedSession
from ssm_tui.ui.fleet_model import literal
from ssm_tui.ui.services import DocumentChoice

if TYPE_CHECKING:
    from ssm_tui.ui.widgets.terminal import TerminalPane

PORT_OPENED = re.compile(r"Port (\d+) opened for sessionId")
"""What both plugins print once the local port listens (the official one and ours)."""


class SessionView(Vertical, can_focus=True):
    """A tab's content; `state` is starting → connected (⇄ reconnecting) → ended (or failed)."""

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
        self.pane: TerminalPane | None = None
        self.state = "starting"
        self.exit_status: int | None = None
        self._status: Any = None
        """The plugin's status pipe reader (ours only), while the pane runs."""
        self.opened_from: str | None = None
        """The tab that was active when this one opened: where a failed start goes back to."""

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
        elif self.state == "starting" or getattr(self.pane, "waiting", False):
            line.append("  ◌ connecting…", style="bold yellow")
        elif self.state == "connected":
            line.append("  ● connected", style="bold green")
        elif self.state == "reconnecting":
            line.append("  ◌ reconnecting…", style="bold yellow")
        if self.is_port_forward and self.state == "connected":
            line.append("  (keys go to the app: ctrl+w ends the forwarding)", style="dim")
        return line

    def _plugin_state(self, state: str, detail: str) -> None:
        """Our plugin's connection state (its status pipe): the label follows a reconnect."""
        if self.state in ("connected", "reconnecting"):
            self.state = state
            self._redraw_title()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.close()
            self._status = None

    @property
    def is_port_forward(self) -> bool:
        """A port forward reads no keys: its pane leaves them to the app."""
        return (self.choice.document_name or "").startswith("AWS-StartPortForwarding")

    def learn_local_port(self, text: str) -> int | None:
        """The plugin said which local port it opened ("Port N opened for sessionId…").

        With local port 0 the system picks one; the tab and title then show that port, not 0.
        Returns the port when it changed the label.
        """
        found = PORT_OPENED.search(text)
        if found is None or self.choice.local_port not in (0, None):
            return None
        port = int(found.group(1))
        old = self.choice.label
        label = re.sub(r"^port \d+→", f"port {port}→", old)
        self.choice = replace(self.choice, label=label, local_port=port)
        self._redraw_title()
        return port if label != old else None

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """`-keyboard`: the split view marks the pane that has the keyboard (sessions.tcss)."""
        self.add_class("-keyboard")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-keyboard")

    def on_terminal_pane_first_output(self, event: Message) -> None:
        """The first byte: "connecting…" becomes "connected"."""
        self._redraw_title()

    def _redraw_title(self) -> None:
        self.query_one(".session-title", Static).update(self._title_line())

    async def attach(self, started: StartedSession, launch: Any) -> Widget:
        """Mount a terminal pane running the plugin for `started` (`launch`: a
        `PluginLaunch`); replaces any old pane."""
        from ssm_tui.plugin.status import StatusReader
        from ssm_tui.ui.widgets.terminal import TerminalPane

        self.started = started
        self.plugin = launch.label
        self.state = "connected"
        self.exit_status = None
        self._stop_status()
        status_fd, launch.status_fd = getattr(launch, "status_fd", None), None
        if status_fd is not None:
            self._status = StatusReader(status_fd, self._plugin_state)
            self._status.start()
        await self.query(".session-placeholder").remove()
        if self.pane is not None:
            await self.pane.remove()
        self.pane = TerminalPane(
            argv=launch.argv,
            env=launch.env,
            title=self.title,
            pass_fds=launch.pass_fds,
            keyboard=not self.is_port_forward,
            waiting_note=f"connecting to {self.instance.instance_id}…",
        )
        await self.mount(self.pane)
        self._redraw_title()
        self.pane.focus()
        return self.pane

    def mark_starting(self) -> None:
        """A new StartSession for this tab (reconnect)."""
        self.state = "starting"

    def mark_ended(self, exit_status: int | None) -> None:
        self._stop_status()
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

    def on_unmount(self) -> None:
        self._stop_status()

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
