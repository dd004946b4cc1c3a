"""The SSO login dialog (`L` on a profile whose IAM Identity Center login expired; issue 15).

Instead of leaving the app for `aws sso login --profile X`, the dialog runs the same device
login (`Services.sso_login`, on the AWS loop): it shows the verification URL and the code, copies
either (`y`, `c`), opens the browser on request (`o`), and waits while the person approves. It
dismisses with the `LoginResult`, and the main screen then lists exactly the profiles of that
login again (`logins_to_offer` picks which one `L` means). Escape cancels the login (the token
cache stays as it was); an expired code or a denial stays on the dialog with its reason, and `r`
starts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from ssm_tui.aws.models import Scope, ScopeError

log = logging.getLogger(__name__)

LOGIN_CODES = frozenset({"SSOTokenExpired", "SSOTokenMissing", "SSOTokenUnreadable"})
"""`ScopeError.code`s a new SSO login fixes (from `aws.errors.explain` and `aws.accounts`)."""


def needs_login(error: ScopeError) -> bool:
    """A failed scope that an SSO login would fix (its code, or the hint `explain` gave it)."""
    return error.code in LOGIN_CODES or error.hint.startswith("run: aws sso login")


def logins_to_offer(errors: dict[Scope, ScopeError], highlighted: Iterable[str] = ()) -> list[str]:
    """Profiles that failed for want of an SSO login: the highlighted row's first, then by name."""
    failed = sorted({scope.profile for scope, error in errors.items() if needs_login(error)})
    first = [name for name in highlighted if name in failed]
    return list(dict.fromkeys([*first, *failed]))


class SsoLoginScreen(ModalScreen[Any]):
    """Runs one device login and shows what the person must do; dismisses with the result."""

    CSS_PATH = "../styles/sso_login.tcss"
    BINDINGS = [
        Binding("o", "open_browser", "Open browser", id="sso_login.open"),
        Binding("y", "copy('url')", "Copy URL", id="sso_login.copy_url"),
        Binding("c", "copy('code')", "Copy code", id="sso_login.copy_code"),
        Binding("r", "retry", "Try again", id="sso_login.retry"),
        Binding("escape", "cancel", "Cancel", id="sso_login.cancel"),
    ]

    class CodeReady(Message):
        """The service has a URL and code for the person (posted from the AWS thread)."""

        def __init__(self, code: Any) -> None:
            super().__init__()
            self.code = code

    def __init__(self, services: Any, profile: str, also: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.services = services
        self.profile = profile
        self.also = also
        """Other profiles that failed for want of a login: those of the same login are listed
        again with it (SSO profiles discovered through that login among them)."""
        self.code: Any = None
        self.state = "starting"  # starting | waiting | failed | done
        self.problem: ScopeError | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="sso-login"):
            title = Text(f"SSO login for profile {self.profile}", style="bold")
            yield Static(title, id="sso-title")
            yield Static(Text("Starting the login…"), id="sso-status")
            yield Static("", id="sso-url")
            yield Static("", id="sso-code")
            yield Static("", id="sso-keys")

    def on_mount(self) -> None:
        self._draw()
        self._login()

    # -- the login -------------------------------------------------------------------------
    @work(exclusive=True, group="sso-login", exit_on_error=False, description="SSO login")
    async def _login(self) -> None:
        """The device login on the AWS loop; cancelling this worker cancels it there."""
        from ssm_tui.aws.exceptions import SsmTuiError

        self.state, self.code, self.problem = "starting", None, None
        self._draw()
        try:
            result = await self.services.sso_login(
                self.profile, self.post_message_code, also=self.also
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - never a dialog stuck on "Starting"
            if isinstance(exc, SsmTuiError):  # worded by the services, with a next step
                self.problem = ScopeError(self.profile, None, exc.message, exc.hint, exc.code)
            else:
                log.exception("SSO login of %s", self.profile)
                self.problem = ScopeError(self.profile, None, f"the SSO login failed: {exc}")
            self.state = "failed"
            self._draw()
            self.refresh_bindings()
            return
        self.state = "done"
        self.dismiss(result)

    def post_message_code(self, code: Any) -> None:
        """`on_code` of the service: called on the AWS thread, so only a message is posted."""
        self.post_message(self.CodeReady(code))

    @on(CodeReady)
    def _code_ready(self, message: CodeReady) -> None:
        self.code = message.code
        self.state = "waiting"
        self._draw()
        self.refresh_bindings()

    # -- keys ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_browser", "copy"):
            return True if self.code is not None and self.state == "waiting" else None
        if action == "retry":
            return self.state == "failed"
        return True

    async def action_open_browser(self) -> None:
        if self.code is None:
            return
        import webbrowser

        url = self.code.verification_uri_complete
        try:
            opened = await asyncio.to_thread(webbrowser.open_new_tab, url)
        except Exception:  # noqa: BLE001 - the URL is on screen; a browser is a convenience
            log.exception("opening the browser failed")
            opened = False
        if not opened:
            self.notify("No browser could be opened here: open the URL yourself.", timeout=6)

    async def action_copy(self, what: str) -> None:
        if self.code is None:
            return
        from ssm_tui.ui.clipboard import copy

        text = self.code.verification_uri_complete if what == "url" else self.code.user_code
        where = await copy(self.app, text)
        self.notify(f"Copied the {'URL' if what == 'url' else 'code'} to the {where}.", timeout=4)

    def action_retry(self) -> None:
        if self.state == "failed":
            self._login()

    def action_cancel(self) -> None:
        """Escape: stop waiting (the worker's cancellation reaches the AWS loop)."""
        self.workers.cancel_group(self, "sso-login")
        if self.state in ("starting", "waiting"):
            self.notify(
                f"SSO login of {self.profile} cancelled; nothing was written.",
                title="SSO login",
                timeout=5,
            )
        self.dismiss(None)

    # -- drawing ---------------------------------------------------------------------------
    def _draw(self) -> None:
        status = self.query_one("#sso-status", Static)
        url = self.query_one("#sso-url", Static)
        code = self.query_one("#sso-code", Static)
        keys = self.query_one("#sso-keys", Static)
        if self.code is None or self.state == "failed":
            url.update("")
            code.update("")
        if self.state == "failed" and self.problem is not None:
            line = Text(self.problem.message, style="bold red")
            if self.problem.hint:
                line.append(f"\n→ {self.problem.hint}", style="italic")
            status.update(line)
            keys.update(_keys(("r", "try again"), ("Esc", "close")))
            return
        if self.code is None:
            status.update(Text("Starting the login…"))
            keys.update(_keys(("Esc", "cancel")))
            return
        expires = self.code.expires_at.astimezone().strftime("%H:%M:%S")
        status.update(
            Text(
                "Open this URL in a browser, check the code and choose Allow "
                f"(before {expires}). Waiting for approval…"
            )
        )
        url.update(Text(self.code.verification_uri_complete, style="underline"))
        code.update(Text.assemble("Code: ", (self.code.user_code, "bold reverse")))
        keys.update(
            _keys(("o", "open browser"), ("y", "copy URL"), ("c", "copy code"), ("Esc", "cancel"))
        )


def _keys(*pairs: tuple[str, str]) -> Text:
    line = Text()
    for key, words in pairs:
        if line:
            line.append("   ")
        line.append(key, style="bold")
        line.append(f": {words}")
    return line
