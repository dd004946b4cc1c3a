"""`SsmTuiApp`: wires the main screen, themes, palette providers, and the session cleanup.

Everything with behaviour lives in `screens/` and `widgets/`; the app holds what outlives a
screen: the services, the session manager (`sessions`, `ssm_tui.session_manager`: the registry
of AWS sessions starting, open and ending), and the exit path that ends them (quit, SIGTERM,
SIGHUP) so no plugin process and no Active session is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding

from ssm_tui.aws.models import StartedSession
from ssm_tui.services import Services
from ssm_tui.session_manager import SessionManager
from ssm_tui.ui.compat import add_stylesheet, set_theme_before_css
from ssm_tui.ui.screens.main import MainScreen
from ssm_tui.ui.themes import DEFAULT_THEME, THEMES

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.screen import Screen

log = logging.getLogger(__name__)

STYLES = Path(__file__).parent / "styles"
EXIT_GRACE = 5.0
"""Seconds the orderly exit gets after SIGTERM/SIGHUP before the watchdog ends it (see
`_watchdog`): whatever blocks the UI loop, a signal ends the sessions and the process."""
LAST_RESORT_WAIT = 4.0
"""Seconds the watchdog waits for its own TerminateSession calls before leaving."""
BACKSTOP_MARGIN = 6.0
"""Seconds after the watchdog's own deadline when SIGALRM ends the process regardless."""
PANE_KEYS = frozenset({"quit", "request_quit", "command_palette"})
"""App actions whose keys (ctrl+q, ctrl+p) go to the session while a terminal pane has focus."""


def _scope_commands() -> type[Provider]:
    """Palette providers load when the palette first opens, not before the first frame."""
    from ssm_tui.ui.commands import ScopeCommands

    return ScopeCommands


def _instance_commands() -> type[Provider]:
    from ssm_tui.ui.commands import InstanceCommands

    return InstanceCommands


def _fleet_commands() -> type[Provider]:
    """issues 15/16: the fleet's columns and row marks."""
    from ssm_tui.ui.fleet_commands import FleetCommands

    return FleetCommands


def _session_commands() -> type[Provider]:
    from ssm_tui.ui.commands import SessionCommands

    return SessionCommands


class SsmTuiApp(App[int]):
    """The ssm-tui application."""

    TITLE = "ssm-tui"
    CSS_PATH = [STYLES / "app.tcss", STYLES / "fleet.tcss"]
    """What the first frame shows. The main screen's other areas bring their file when first
    mounted (`use_styles`), as each other screen does when first shown."""
    COMMANDS = App.COMMANDS | {
        _scope_commands, _instance_commands, _session_commands, _fleet_commands
    }  # fmt: skip
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key, and filters"),
        Binding(
            "ctrl+q",
            "request_quit",
            "Quit",
            priority=True,
            id="app.quit",
            tooltip="End every session and quit",
        ),  # fmt: skip
    ]

    def __init__(self, services: Services | None = None, *, theme: str | None = None) -> None:
        super().__init__()
        self.services = services or Services()
        if self.services.cache_widths is None:
            from ssm_tui.ui.fleet_model import cache_widths

            self.services.cache_widths = cache_widths
        self.sessions = SessionManager(self.services)
        """Every session's start, record and end; what the exit path ends."""
        for item in THEMES:
            self.register_theme(item)
        self._wanted_theme = theme or DEFAULT_THEME
        self._quitting = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signalled: int | None = None
        self._hurry = threading.Event()
        """Set by a second signal: the watchdog stops waiting for the orderly exit."""
        self._use_theme(
            self._wanted_theme if self._wanted_theme in self.available_themes else DEFAULT_THEME
        )

    def _use_theme(self, name: str) -> None:
        """Start with this theme, before any CSS is parsed.

        Setting `App.theme` once running re-parses every stylesheet with the new variables
        (measured: about a tenth of the time to the first frame); set before the first parse,
        it costs nothing. This is what `App._watch_theme` does, minus the re-parse.
        """
        set_theme_before_css(self, name)

    def on_mount(self) -> None:
        if self._wanted_theme not in self.available_themes:
            self.notify(f"Unknown theme {self._wanted_theme!r}.", severity="warning")
        self._install_signal_handlers()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Inside a terminal pane, ctrl+p and ctrl+q belong to the session (shell history…).

        These are priority bindings, checked before the focused widget sees the key; returning
        False makes `App._check_bindings` skip them, so the key goes on to the pane. Quit from
        a pane is ctrl+] (back to the app) then ctrl+q, as the pane's footer entry says.
        """
        if action in PANE_KEYS and self._terminal_has_focus():
            return False
        return True

    def _terminal_has_focus(self) -> bool:
        # no import here: the footer asks at the first frame, which needs no terminal widget;
        # a pane exists only once its module was imported
        module = sys.modules.get("ssm_tui.ui.widgets.terminal")
        focused = self.focused
        return (
            module is not None
            and isinstance(focused, module.TerminalPane)
            and focused.CAPTURES_KEYS  # a port forward's pane sends no keys (issue 15)
        )

    def use_styles(self, *names: str) -> None:
        """Add the styles of an area (`styles/<name>.tcss`) before its first widget mounts.

        Each such file styles only its area's widgets, so adding it just before they mount
        styles them as if it had been read at start, where parsing every area's file cost
        ~4 ms of the first frame (the stylesheet parses only the new file).
        """
        for name in names:
            path = os.path.abspath(STYLES / f"{name}.tcss")
            add_stylesheet(self, path)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's, plus "SSO login: X" while a profile needs one (issue 15)."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield from screen.sso_login_commands()

    def get_default_screen(self) -> MainScreen:
        """The main screen is the default screen: no blank frame before the fleet."""
        return MainScreen(self.services, self.sessions)

    def on_unmount(self) -> None:
        """Stop the AWS thread (a later `end_leftovers` restarts it if sessions remain)."""
        self.services.aws.stop()

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP run the same cleanup as quitting (headless tests keep pytest's).

        The signals are heard on a thread of their own (`SignalWatch`, through the wakeup fd):
        a Python handler waits for the main thread, and a main thread stuck (Textual's output
        blocked on a terminal that stopped reading, or gone) would ignore SIGTERM for ever.
        The thread asks the loop to quit and starts a watchdog that ends everything itself if
        the loop does not get there; an `alarm()` is the last backstop.
        """
        if self.is_headless:
            return
        from ssm_tui.ui.signal_watch import SignalWatch

        self._loop = asyncio.get_running_loop()
        backstop = EXIT_GRACE + LAST_RESORT_WAIT + BACKSTOP_MARGIN
        SignalWatch(self._on_signal, backstop=backstop).install()

    @property
    def signalled(self) -> int | None:
        """The signal (SIGTERM/SIGHUP) that began the exit, if one did."""
        return self._signalled

    def _on_signal(self, signum: int) -> None:
        """On the signal thread: never waits for the main thread."""
        if signum == signal.SIGHUP:
            detach_terminal()
        if self._signalled is not None:
            self._hurry.set()  # a second signal: no more waiting
            return
        self._signalled = signum
        threading.Thread(
            target=self._watchdog, args=(signum,), name="ssm-tui-exit", daemon=True
        ).start()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.action_quit()))

    def _watchdog(self, signum: int) -> None:
        """Give the orderly exit `EXIT_GRACE` seconds, then end it from this thread.

        Kills every plugin process group, sends TerminateSession for what is still open (on
        the AWS thread, which runs apart from the UI loop), records the ends, and leaves with
        128 + the signal's number. The main thread may be stuck anywhere: nothing here waits
        for it.
        """
        self._hurry.wait(EXIT_GRACE)
        from ssm_tui.term.pty import kill_all

        kill_all()
        self.sessions.end_all_now(LAST_RESORT_WAIT)
        log.warning("exit forced %.0f s after signal %d", EXIT_GRACE, signum)
        os._exit(128 + signum)

    def action_help(self) -> None:
        from ssm_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_request_quit(self) -> None:
        """ctrl+q: asks first while sessions are live (`screens/confirm.py`), then quits."""
        from ssm_tui.ui.screens.confirm import quit_app

        quit_app(self, lambda: self.call_later(self.action_quit))

    async def action_quit(self) -> None:
        """End every session (process, then AWS session), then exit."""
        if self._quitting:
            return
        self._quitting = True
        self.sessions.begin_closing()
        try:
            await self.shutdown_sessions()
        finally:
            self.exit(0)

    @property
    def quitting(self) -> bool:
        """The exit path has begun: a StartSession answering now must not open a tab."""
        return self._quitting

    @property
    def live_sessions(self) -> dict[str, StartedSession]:
        """Sessions StartSession opened and TerminateSession has not yet ended."""
        return self.sessions.open

    async def shutdown_sessions(self) -> None:
        """Stop every plugin process, then write the ends and end every AWS session."""
        self.sessions.begin_closing()
        await self.sessions.wait_for_starts()
        from ssm_tui.ui.widgets.session_view import SessionView

        panes = [view.pane for screen in self.screen_stack for view in screen.query(SessionView)]
        await asyncio.gather(
            *(pane.terminate() for pane in panes if pane is not None),
            return_exceptions=True,
        )
        from ssm_tui.ui.screens.forwards import close_app_forwards

        await close_app_forwards(self)  # issue 16: the forwards opened from the app
        await self.sessions.close()
        await self.services.aclose()


def detach_terminal() -> None:
    """The terminal is gone (SIGHUP): point stdin/stdout/stderr at /dev/null.

    Writes to a hung-up tty fail (EIO), which ends Textual's output thread and leaves the UI
    loop blocked on its full queue; writes to /dev/null always succeed, so the exit path runs.
    """
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:  # pragma: no cover
        return
    for fd in (0, 1, 2):
        try:
            os.dup2(null, fd)
        except OSError:  # pragma: no cover
            pass
    os.close(null)


def leftover_sessions(app: SsmTuiApp) -> list[StartedSession]:
    """Sessions still open after the app stopped (crash path), for the caller's last resort."""
    return list(app.sessions.open.values())


def end_leftovers(app: SsmTuiApp) -> None:
    """Last resort after `app.run()` returned or raised: TerminateSession what is still open."""
    app.sessions.end_leftovers()
