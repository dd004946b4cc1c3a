"""The document picker (`c`): a shell, port forwarding (local/remote ports), or a command.

Returns a `DocumentChoice` naming the Session Manager document and its parameters; the fleet
screen then starts the session exactly like a plain shell.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ssm_tui.aws.models import Instance
from ssm_tui.ui.fleet_model import literal
from ssm_tui.ui.services import DocumentChoice

SHELL = "shell"
PORT = "port"
REMOTE_PORT = "remote-port"
COMMAND = "command"


def build_choice(kind: str, local: str, remote: str, host: str, command: str) -> DocumentChoice:
    """Validate the form; raises ValueError with a message the user can act on."""
    if kind == SHELL:
        return DocumentChoice()
    if kind == COMMAND:
        if not command.strip():
            raise ValueError("Type the command to run.")
        return DocumentChoice(
            "AWS-StartInteractiveCommand", {"command": [command.strip()]}, label="command"
        )
    ports = {}
    for name, value in (("remote", remote), ("local", local)):
        value = value.strip()
        if name == "local" and not value:
            value = "0"
        if (
            not value.isdigit()
            or not 0 <= int(value) <= 65535
            or (name == "remote" and value == "0")
        ):
            raise ValueError(f"The {name} port must be a number from 1 to 65535.")
        ports[name] = value
    parameters = {"portNumber": [ports["remote"]], "localPortNumber": [ports["local"]]}
    if kind == REMOTE_PORT:
        if not host.strip():
            raise ValueError("Type the remote host (as the instance resolves it).")
        parameters["host"] = [host.strip()]
        document = "AWS-StartPortForwardingSessionToRemoteHost"
    else:
        document = "AWS-StartPortForwardingSession"
    remote_host = host.strip() + ":" if kind == REMOTE_PORT else ""
    label = f"port {ports['local']}→{remote_host}{ports['remote']}"
    return DocumentChoice(document, parameters, label=label, local_port=int(ports["local"]))


class DocumentPicker(ModalScreen[DocumentChoice | None]):
    """Choose what the session runs on `instance`."""

    CSS_PATH = "../styles/document.tcss"
    BINDING_GROUP_TITLE = "Connect with"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="document.cancel"),
        Binding("ctrl+s", "connect", "Connect", id="document.connect"),
    ]

    def __init__(self, instance: Instance) -> None:
        super().__init__()
        self.instance = instance

    def compose(self) -> ComposeResult:
        with Vertical(id="document"):
            title = literal(self.instance.name or self.instance.instance_id)
            title.append(f"  {self.instance.instance_id}", style="dim")
            yield Static(title, id="document-title")
            with RadioSet(id="document-kind"):
                yield RadioButton("Shell", value=True, id=f"kind-{SHELL}")
                yield RadioButton("Port forwarding to the instance", id=f"kind-{PORT}")
                yield RadioButton("Port forwarding to a remote host", id=f"kind-{REMOTE_PORT}")
                yield RadioButton("Interactive command", id=f"kind-{COMMAND}")
            with Horizontal(classes="document-row", id="row-ports"):
                yield Label("local port")
                yield Input(placeholder="0 = any free", id="local-port", type="integer")
                yield Label("remote port")
                yield Input(placeholder="e.g. 5432", id="remote-port", type="integer")
            with Horizontal(classes="document-row", id="row-host"):
                yield Label("remote host")
                yield Input(placeholder="db.internal", id="remote-host")
            with Horizontal(classes="document-row", id="row-command"):
                yield Label("command")
                yield Input(placeholder="sudo journalctl -f", id="command")
            yield Static("", id="document-error", markup=False)
            with Horizontal(id="document-buttons"):
                yield Button("Connect", variant="primary", id="connect")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._show_rows(SHELL)

    def _kind(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or not pressed.id:
            return SHELL
        return pressed.id.removeprefix("kind-")

    def _show_rows(self, kind: str) -> None:
        self.query_one("#row-ports").display = kind in (PORT, REMOTE_PORT)
        self.query_one("#row-host").display = kind == REMOTE_PORT
        self.query_one("#row-command").display = kind == COMMAND

    @on(RadioSet.Changed)
    def _kind_changed(self, event: RadioSet.Changed) -> None:
        self._show_rows(self._kind())

    @on(Button.Pressed, "#connect")
    @on(Input.Submitted)
    def action_connect(self) -> None:
        try:
            choice = build_choice(
                self._kind(),
                self.query_one("#local-port", Input).value,
                self.query_one("#remote-port", Input).value,
                self.query_one("#remote-host", Input).value,
                self.query_one("#command", Input).value,
            )
        except ValueError as exc:
            self.query_one("#document-error", Static).update(str(exc))
            return
        self.dismiss(choice)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
