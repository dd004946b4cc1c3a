"""The RDP screen (`R` on a Windows row): port 3389 forwarded, the password on request, a client.

On open it forwards 3389 of the instance to a free local port through the app's forward manager
(`ssm_tui/forwards.py`: the same kept-open forward as `ssm-tui rdp` and the forwards screen,
where it is listed and can be closed), then starts the RDP client this machine has
(`commands/rdp.py`'s `client_command`: xfreerdp / wlfreerdp, `open rdp://` on macOS, mstsc on
Windows), or, without one, shows the exact address and user to paste into one.

The Administrator password is fetched only when asked for: `p` shows it, `y` copies it (OSC 52
and the system clipboard, `ui/clipboard.py`) without showing it. It is EC2 GetPasswordData
decrypted with the key pair's private key (`rdp_key` in the settings for the instance or its
profile, or a path typed here when none is set); a wrong or missing key is said in one line.
The password is kept in this screen only, never logged, and gone when the screen closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from ssm_tui.aws.exceptions import SsmTuiError
from ssm_tui.aws.models import Instance
from ssm_tui.ui.fleet_model import literal

if TYPE_CHECKING:
    from ssm_tui.forwards import Forward

RDP_PORT = 3389
USER = "Administrator"
POLL = 0.25


class RdpScreen(Screen[None]):
    """Address, state and password of one Windows instance's RDP forward."""

    BINDING_GROUP_TITLE = "RDP"
    BINDINGS = [
        Binding("escape", "close", "Back", id="rdp.close", tooltip="The forward stays open (F)"),
        Binding("p", "show_password", "Password", id="rdp.password", tooltip="Show it"),
        Binding("y", "copy_password", "Copy password", id="rdp.copy"),
        Binding("l", "launch", "RDP client", id="rdp.launch", tooltip="Start the RDP client"),
        Binding("x", "stop", "Close forward", id="rdp.stop", tooltip="End the forward's session"),
    ]

    def __init__(self, instance: Instance) -> None:
        super().__init__()
        self.instance = instance
        self.forward_name = f"rdp {instance.name or instance.instance_id}"
        self.password: str | None = None
        self.key_file: str | None = None
        self.client: asyncio.subprocess.Process | None = None
        self.client_argv: list[str] | None = None
        self._launched = False
        self._after_key = ""
        """What to do once a key path is typed: "show" or "copy"."""

    def compose(self) -> ComposeResult:
        title = Text("RDP ", no_wrap=True, end="")
        title.append_text(literal(self.instance.name or self.instance.instance_id))
        title.append(
            f"  {self.instance.instance_id}  {self.instance.profile}/{self.instance.region}"
        )
        yield Static(title, id="rdp-title", markup=False)
        yield Static(Text("forwarding 3389…"), id="rdp-address", markup=False)
        yield Static(Text(""), id="rdp-client", markup=False)
        yield Static(
            Text("p: show the Administrator password · y: copy it · l: start the RDP client"),
            id="rdp-password",
            markup=False,
        )
        key = Input(placeholder="private key file (.pem) of the instance's key pair", id="rdp-key")
        key.display = False
        key.disabled = True  # hidden: takes no keys (p, y, l are the screen's)
        yield key
        yield Static(
            Text("escape: back (the forward stays open: F lists it) · x: close the forward"),
            id="rdp-note",
            markup=False,
        )

    @property
    def forward(self) -> Forward | None:
        from ssm_tui.ui.screens.forwards import app_forwards

        return app_forwards(self.app).get(self.forward_name)

    def on_mount(self) -> None:
        self._start_forward()
        self.set_interval(POLL, self._follow, name="rdp-follow")

    @work(group="rdp-forward", exit_on_error=False, description="RDP forward")
    async def _start_forward(self) -> None:
        from ssm_tui.forwards import AdHocForward, spec_for
        from ssm_tui.ui.screens.forwards import app_forwards

        manager = app_forwards(self.app)
        settings = AdHocForward(self.instance.instance_id, RDP_PORT, profile=self.instance.profile)
        manager.add(self.forward_name, settings)
        spec = spec_for(self.forward_name, settings, self.instance)

        async def start() -> None:
            manager.open(self.forward_name, spec)

        await self.app.services.aws.run(start())  # type: ignore[attr-defined]

    def _follow(self) -> None:
        """The forward's state on the address line; the client starts once the port listens."""
        forward = self.forward
        if forward is None:
            return
        address = self.query_one("#rdp-address", Static)
        port = forward.status.local_port
        if forward.state == "listening" and port:
            address.update(
                Text(f"● listening on 127.0.0.1:{port}  user {USER}  ({forward.line()})")
            )
            if not self._launched:
                self._launched = True
                self._client_line(port, launch=True)
        elif forward.state == "failed":
            address.update(Text(f"■ the forward failed: {forward.error}", style="red"))
        else:
            address.update(Text(f"◌ {forward.state}… ({forward.line()})"))

    def _client_line(self, port: int, launch: bool) -> None:
        from ssm_tui.commands.rdp import client_command

        line = self.query_one("#rdp-client", Static)
        self.client_argv = client_command(port, USER)
        if self.client_argv is None:
            line.update(Text(f"No RDP client found: connect one to 127.0.0.1:{port}, user {USER}."))
            return
        line.update(Text("RDP client: " + " ".join(self.client_argv)))
        if launch:
            self._launch()

    @work(group="rdp-client", exit_on_error=False, description="RDP client")
    async def _launch(self) -> None:
        argv = self.client_argv
        if argv is None:
            return
        try:
            self.client = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self.notify(f"The RDP client did not start: {exc}", severity="error", markup=False)
            return
        self.notify(f"Started {argv[0]}.", timeout=4, markup=False)

    def action_launch(self) -> None:
        forward = self.forward
        if forward is None or forward.state != "listening":
            self.notify("The forward is not listening yet.", timeout=3)
            return
        self._client_line(forward.status.local_port, launch=True)
        if self.client_argv is None:
            self.notify("No RDP client installed (xfreerdp, wlfreerdp).", timeout=4)

    # -- the password ----------------------------------------------------------------------
    def _key(self, then: str) -> str | None:
        """The key file to use; None after asking for one (`then` runs once it is typed)."""
        if self.key_file is None:
            self.key_file = self.app.services.rdp_key_path(self.instance)  # type: ignore[attr-defined]
        if self.key_file is None:
            self._after_key = then
            box = self.query_one("#rdp-key", Input)
            box.display = True
            box.disabled = False
            box.focus()
            return None
        return self.key_file

    @on(Input.Submitted, "#rdp-key")
    def _key_given(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            return
        self.key_file = path
        self._hide_key()
        self._fetch(self._after_key or "show")

    def _hide_key(self) -> None:
        box = self.query_one("#rdp-key", Input)
        box.display = False
        box.disabled = True
        self.set_focus(None)

    def action_show_password(self) -> None:
        if self.password is not None:
            self._show()
        elif self._key("show") is not None:
            self._fetch("show")

    def action_copy_password(self) -> None:
        if self.password is not None:
            self._copy()
        elif self._key("copy") is not None:
            self._fetch("copy")

    @work(group="rdp-password", exclusive=True, exit_on_error=False, description="GetPasswordData")
    async def _fetch(self, then: str) -> None:
        line = self.query_one("#rdp-password", Static)
        line.update(Text("fetching the password (GetPasswordData)…"))
        try:
            self.password = await self.app.services.rdp_password(  # type: ignore[attr-defined]
                self.instance, self.key_file or ""
            )
        except SsmTuiError as exc:
            self.key_file = None  # a wrong key: ask again next time (or the settings' again)
            text = Text(exc.message, style="red")
            if exc.hint:
                text.append(f" → {exc.hint}", style="dim")
            line.update(text)
            return
        if then == "copy":
            line.update(Text("password fetched (p: show it)"))
            self._copy()
        else:
            self._show()

    def _show(self) -> None:
        text = Text(f"user {USER}  password ", no_wrap=True, end="")
        text.append(self.password or "", style="bold")
        text.append("  (y: copy)", style="dim")
        self.query_one("#rdp-password", Static).update(text)

    @work(group="rdp-copy", exit_on_error=False, description="copy password")
    async def _copy(self) -> None:
        from ssm_tui.ui.clipboard import copy

        where = await copy(self.app, self.password or "")
        self.notify(f"Password copied to the {where}.", timeout=4, markup=False)

    # -- leaving ---------------------------------------------------------------------------
    @work(group="rdp-stop", exit_on_error=False, description="close RDP forward")
    async def action_stop(self) -> None:
        from ssm_tui.ui.screens.forwards import app_forwards

        manager = app_forwards(self.app)
        await self.app.services.aws.run(manager.close(self.forward_name))  # type: ignore[attr-defined]
        self.app.pop_screen()

    def action_close(self) -> None:
        if self.query_one("#rdp-key", Input).display:
            self._hide_key()
            return
        self.password = None
        self.app.pop_screen()

    def on_unmount(self) -> None:
        self.password = None
        client = self.client
        if client is not None and client.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                client.terminate()


def open_rdp(screen: Any) -> None:
    """`R` on the main screen: RDP to the highlighted row when it is a Windows instance."""
    row = screen.fleet.table.cursor_row
    instance = getattr(row, "instance", None)
    if instance is None:
        screen.notify("No instance highlighted.", timeout=3)
        return
    if instance.platform_type != "Windows":
        screen.notify(
            f"{instance.name or instance.instance_id} is a {instance.platform_type} instance: "
            "RDP is for Windows (ctrl+s: ssh).",
            timeout=5,
            markup=False,
        )
        return
    screen.app.use_styles("rdp")
    screen.app.push_screen(RdpScreen(instance))
