"""An ssh pane (`ctrl+s` on a row): OpenSSH to the highlighted instance over Session Manager.

The pane runs `ssm-tui ssh --profile P --regions R INSTANCE` in a real pty: the key push (EC2
Instance Connect), the `AWS-StartSSHSession` through our plugin as ProxyCommand and the
TerminateSession when ssh ends are all that command's (`commands/ssh.py`), so the app starts no
AWS session of its own here and none can be left behind by it: closing the screen hangs up the
pane's process group, ssh exits and its proxy ends the session.

Why a screen of its own rather than a session tab: a tab is a Session Manager session the app
started and tracks (`live_sessions`, history); ssh's session belongs to the ssh process.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from ssm_tui.aws.models import Instance
from ssm_tui.ui.fleet_model import literal

if TYPE_CHECKING:
    from ssm_tui.ui.widgets.terminal import TerminalPane


def ssh_argv(instance: Instance) -> list[str]:
    """The command the pane runs (this interpreter: no PATH lookup of ssm-tui needed)."""
    argv = [sys.executable, "-m", "ssm_tui.cli", "ssh"]
    if instance.profile:
        argv += ["--profile", instance.profile]
    if instance.region:
        argv.append(f"--regions={instance.region}")  # nargs="+": one value, not TARGET too
    return [*argv, instance.instance_id]


class SshScreen(Screen[None]):
    """A title line over a terminal pane running ssh."""

    BINDING_GROUP_TITLE = "ssh"
    BINDINGS = [Binding("escape", "close", "Back", id="ssh.close", tooltip="End ssh, go back")]
    DEFAULT_CSS = """
    SshScreen #ssh-title { height: 1; padding: 0 1; text-style: bold; }
    """

    def __init__(self, instance: Instance) -> None:
        super().__init__()
        self.instance = instance
        self.exit_status: int | None = None

    def compose(self) -> ComposeResult:
        from ssm_tui.ui.widgets.terminal import TerminalPane

        yield Static(self._title(), id="ssh-title", markup=False)
        yield TerminalPane(argv=ssh_argv(self.instance), title=self.instance.name or "ssh")

    def on_mount(self) -> None:
        from ssm_tui.ui.widgets.terminal import TerminalPane

        self.query_one(TerminalPane).focus()

    def _title(self) -> Text:
        line = Text("ssh ", no_wrap=True, end="")
        line.append_text(literal(self.instance.name or self.instance.instance_id))
        line.append(
            f"  {self.instance.instance_id}  {self.instance.profile}/{self.instance.region}"
        )
        if self.exit_status is None:
            line.append("  ^] then escape: back", style="dim")
        else:
            line.append(f"  ■ ended (exit status {self.exit_status}) — escape: back", style="red")
        return line

    def on_terminal_pane_exited(self, event: TerminalPane.Exited) -> None:
        self.exit_status = event.exit_status
        self.query_one("#ssh-title", Static).update(self._title())
        self.focus()

    def action_close(self) -> None:
        self.dismiss(None)  # unmounting the pane hangs up ssh


def open_ssh(screen: Screen[Any]) -> None:
    """Push an ssh screen for the highlighted row (Linux/macOS only: ssh needs an sshd)."""
    from ssm_tui.ui.widgets.fleet_view import FleetView

    row = screen.query_one(FleetView).table.cursor_row
    if row is None:
        return
    if not row.instance.supports_ssh:
        screen.notify(
            f"ssh needs Linux or macOS; this is a {row.instance.platform_type} instance.",
            markup=False,
        )
        return
    screen.app.push_screen(SshScreen(row.instance))
