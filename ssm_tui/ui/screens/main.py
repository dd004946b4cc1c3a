"""The main screen: a tab bar (Fleet + one tab per session) over the fleet or the sessions.

Layout::

    TabBar          Fleet | web-1 | db-2 …
    FleetView (table, filter, progress) | #side (side panels, issue 7)
      or #sessions  SessionView per session; one shown, or two side by side (split)
    KeyBar (the footer)

Why one screen rather than modes: a split view shows two sessions at once and the tab bar spans
fleet and sessions, so both live under one tab bar; one of the two areas is displayed at a
time (`show_area`). `#side` and `#sessions` are mounted when first needed, not in the first
frame. Side panels (history, logs) mount into `#side` with `MainScreen.mount_side_panel`; they
follow the highlighted row through `FleetTable.Highlighted`, which bubbles up to this screen.

Session lifecycle: the app's headless `SessionManager` (`ssm_tui.session_manager`) starts,
records and ends every session and keeps the registry the exit path ends; this screen runs its
calls in workers on the screen (never on the view, so closing a tab cannot cancel the cleanup)
and shows the result in a tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from ssm_tui.aws.models import Account, Instance, Profile, Scope, ScopeError
from ssm_tui.services import DocumentChoice, ScopeChoice, Services, StartFailed
from ssm_tui.session_manager import SessionManager
from ssm_tui.ui.messages import SessionFailed, SessionOpened, TranscriptRequested
from ssm_tui.ui.startup import resume_gc
from ssm_tui.ui.widgets.fleet_table import FleetTable
from ssm_tui.ui.widgets.fleet_view import FleetView
from ssm_tui.ui.widgets.key_bar import KeyBar
from ssm_tui.ui.widgets.session_view import SessionView
from ssm_tui.ui.widgets.tab_bar import TabBar

if TYPE_CHECKING:
    from ssm_tui.ui.widgets.history_panel import HistoryPanel
    from ssm_tui.ui.widgets.terminal import TerminalPane

FLEET_TAB = "tab-fleet"
CACHE_WAIT = 5.0
"""Seconds reading the AWS config waits for the rest of the cache to be read first."""
LOGIN_WAIT = 10.0
"""Seconds to wait for a new shell's first output before typing the login command anyway."""


class MainScreen(Screen[None]):
    """Fleet and sessions under one tab bar."""

    BINDING_GROUP_TITLE = "ssm-tui"
    BINDINGS = [
        Binding("p", "pick", "Profiles", id="main.pick", tooltip="Pick profiles/accounts/regions"),
        Binding("ctrl+pagedown", "next_tab", "Next tab", priority=True, id="main.next_tab"),
        Binding(
            "ctrl+pageup", "prev_tab", "Prev tab", priority=True, id="main.prev_tab", show=False
        ),  # fmt: skip
        Binding("ctrl+t", "next_tab", "Next tab", id="main.cycle_tab", show=False),
        Binding(
            "ctrl+w",
            "close_tab",
            "Close tab",
            id="main.close_tab",
            tooltip="End the session and close its tab",
        ),  # fmt: skip
        Binding(
            "v", "toggle_split", "Split", id="main.split", tooltip="Show two sessions side by side"
        ),  # fmt: skip
        Binding("f", "fleet", "Fleet", id="main.fleet", show=False),
        Binding("h", "side_panel('history')", "History", id="main.history", tooltip="Sessions"),
        Binding("l", "side_panel('logs')", "Logs", id="main.logs", tooltip="Transcripts"),
        Binding("escape", "escape", "Back", show=False, id="main.escape"),
        Binding(
            "y",
            "copy",
            "Copy",
            show=False,
            id="main.copy",
            tooltip="Copy the instance id, private IP, name or session id",
        ),  # fmt: skip
        Binding("A", "audit('search')", "Audit search", show=False, id="main.audit_search"),
        Binding("W", "audit('watch')", "Watch sessions", show=False, id="main.audit_watch"),
        Binding("x", "run_command", "Run", id="main.run", tooltip="Run Command on this instance"),
        Binding("X", "run_command(True)", "Run on all", id="main.run_all", show=False),
        Binding("ctrl+s", "ssh", "ssh", id="main.ssh", show=False, tooltip="ssh to this instance"),
        Binding(
            "L",
            "sso_login",
            "SSO login",
            id="main.sso_login",
            tooltip="Log in the profile whose IAM Identity Center login expired (as aws sso login)",
        ),
        # issue 16: named port forwards, RDP to a Windows row, broadcast keys to several tabs
        Binding("F", "forwards", "Forwards", id="main.forwards", show=False, tooltip="Forwards"),
        Binding("R", "rdp", "RDP", id="main.rdp", show=False, tooltip="RDP to this Windows row"),
        Binding(
            "B",
            "broadcast",
            "Broadcast",
            id="main.broadcast",
            show=False,
            tooltip="Type once into every selected tab (on/off)",
        ),
        Binding(
            "b",
            "broadcast_tab",
            "Broadcast tab",
            id="main.broadcast_tab",
            show=False,
            tooltip="This tab in or out of the broadcast",
        ),  # fmt: skip
        *[
            Binding(str(n), f"favourite({n})", f"Favourite {n}", show=False, id=f"main.fav{n}")
            for n in range(10)
        ],
        *[
            Binding(f"alt+{n}", f"tab({n})", f"Tab {n}", show=False, id=f"main.tab{n}")
            for n in range(1, 10)
        ],
    ]

    def __init__(self, services: Services, sessions: SessionManager | None = None) -> None:
        super().__init__()
        self.services = services
        self._sessions = sessions
        self.profiles: list[Profile] = []
        self.selected: tuple[str, ...] = ()
        self.regions: tuple[str, ...] = ()
        self.split = False
        self.accounts: list[Account] = []
        """Accounts behind the profiles, once resolved (aliases, SSO discoveries)."""
        self._ids = itertools.count(1)
        self._order: list[str] = []  # session view ids, tab order
        self._partner: str | None = None

    def compose(self) -> ComposeResult:
        yield TabBar("Fleet", FLEET_TAB, id="tabs")
        yield FleetView(self.services, id="fleet-view")
        yield KeyBar()

    @property
    def fleet(self) -> FleetView:
        return self.query_one(FleetView)

    @property
    def tabs(self) -> TabBar:
        return self.query_one("#tabs", TabBar)

    @property
    def sessions(self) -> SessionManager:
        """The app's session manager (a host without one gets a manager of its own)."""
        if self._sessions is None:
            self._sessions = getattr(self.app, "sessions", None) or SessionManager(self.services)
        return self._sessions

    # -- start-up --------------------------------------------------------------------------
    def on_mount(self) -> None:
        """Draw the cache first; profiles (botocore) load on the AWS thread behind that frame."""
        self.fleet.load_cache()
        self.fleet.table.focus()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """The rest of the cache, then the profiles, then the GC: all behind the first paint.

        Reading the config imports botocore on the AWS thread (~150 ms of CPU), which would
        share the GIL with that paint and with reading the cache, so it waits for both.
        (`FleetView` also schedules the rest of the cache itself, for hosts other than this
        screen; whichever runs first starts it.)
        """
        self.fleet.finish_cache()
        self._load_profiles()
        resume_gc()
        store = self.services.get_store()  # a cache that is off or was set aside says why
        for why in [*getattr(store, "notes", ()), getattr(store, "cache_off", None)]:
            if why:
                self.notify(why, title="Cache", severity="warning", timeout=15, markup=False)

    @work(group="profiles", exit_on_error=False, description="reading the AWS config")
    async def _load_profiles(self) -> None:
        from ssm_tui.ui import ui_state

        last: ui_state.UiState | None = None

        async def read() -> tuple[list[Profile], list[Scope], float]:
            profiles = self.services.load_profiles()
            scopes = self.services.scopes(profiles, None)
            interval = float(getattr(self.services.get_settings(), "refresh_interval", 30) or 30)
            nonlocal last
            if ui_state.wanted(self.services.get_settings()):  # the last run's (issue 15)
                known = {p.name for p in self.services.load_profiles(include_discovered=True)}
                last = ui_state.restored(ui_state.load(), known)
            return profiles, scopes, interval

        # after the rest of the cache (both are CPU work that would share the GIL), though
        # never held up for long by it
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.fleet.cache_read.wait(), CACHE_WAIT)
        try:
            profiles, _scopes, interval = await self.services.aws.run(read())
        except Exception as exc:  # noqa: BLE001 - a broken AWS config must not stop the app
            error = self.services.explain(exc)
            self.notify_error("AWS config unreadable", error)
            self.fleet.progress.set_config_problems([error.message])  # stays on
            profiles, interval = [], 30.0
        self.fleet.use_columns(self.services.get_settings())  # issue 15: chosen columns
        if keymap := getattr(self.services.get_settings(), "keymap", None):
            self.app.set_keymap(dict(keymap))  # the settings' [keymap]: binding id -> keys
        self.profiles = profiles
        self.selected = tuple(p.name for p in profiles)
        wanted = self.services.initial_profiles or self.selected  # `ssm-tui --profile/--region`
        regions, text = self.services.initial_regions, self.services.initial_filter
        if last is not None and not self.services.initial_profiles:  # the last run's
            wanted, regions, text = last.profiles, regions or last.regions, text or last.filter
        self.apply_scope(ScopeChoice(wanted, regions), announce=False)
        if text and (box := self.fleet._filter_box()) is not None:
            box.value = text
        if ui_state.wanted(self.services.get_settings()):
            ui_state.Rememberer(self).start()
        self.set_interval(interval, self.fleet.refresh_when_idle, name="inventory-refresh")
        if self.services.account_lookup:
            self._resolve_accounts()

    @work(group="accounts", exit_on_error=False, description="account names")
    async def _resolve_accounts(self) -> None:
        """Learn the accounts (aliases, SSO discoveries) once, for the picker.

        Rows are not relabelled from here: the refresh labels them with the IAM alias itself
        (`Services.labelled`), so an SSO account name learnt here never shows in the table.
        """
        accounts, _errors = await self.services.accounts(self.profiles)
        self.accounts = list(accounts)

    # -- scopes ----------------------------------------------------------------------------
    def apply_scope(self, choice: ScopeChoice, announce: bool = True) -> None:
        """Show these profiles (and regions) now; no restart, the cache draws them at once."""
        wanted = set(choice.profiles)
        chosen = [p for p in self.profiles if p.name in wanted]
        known = {p.name for p in chosen}
        chosen += [
            p
            for p in self.services.load_profiles(include_discovered=True)
            if p.name in wanted and p.name not in known
        ] if wanted - known else []  # fmt: skip
        self.selected = tuple(p.name for p in chosen)
        self.regions = choice.regions
        scopes: list[Scope] = self.services.scopes(chosen, choice.regions or None)
        self.fleet.set_scopes(scopes)
        self._draw_favourites()
        if announce:
            names = ", ".join(self.selected) if len(self.selected) <= 4 else f"{len(self.selected)}"
            regions = f" in {', '.join(self.regions)}" if self.regions else ""
            self.notify(f"Showing {names} profile(s){regions}.", timeout=3, markup=False)

    def _favourites(self) -> list[tuple[str, tuple[str, ...]]]:
        """(label, profiles) for keys 1-9 (`favourites` setting, issue 15); 0 is every profile."""
        from ssm_tui.ui.favourites import favourites

        configured = getattr(self.services.get_settings(), "favourites", ())
        return favourites(self.profiles, configured)

    def _draw_favourites(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for number, (label, names) in enumerate(self._favourites(), start=1):
            on_now = set(names) == set(self.selected)
            line.append(f" {number} ", style="reverse bold" if on_now else "bold")
            line.append(f"{label}  ", style="bold" if on_now else "")
        every = {p.name for p in self.profiles} == set(self.selected) and bool(self.profiles)
        line.append(" 0 ", style="reverse bold" if every else "bold")
        line.append("all  ")
        line.append(" p ", style="bold")
        line.append("pick…")
        from ssm_tui.ui.widgets.line import Line

        self.query_one("#favourites", Line).update(line)

    def action_favourite(self, number: int) -> None:
        if number == 0:
            self.apply_scope(ScopeChoice(tuple(p.name for p in self.profiles)))
            return
        favourites = self._favourites()
        if number <= len(favourites):
            label, names = favourites[number - 1]
            if not names:
                self.notify(f"Favourite {number} ({label}): no such profile.", markup=False)
                return
            self.apply_scope(ScopeChoice(names))

    def action_pick(self) -> None:
        from ssm_tui.ui.screens.picker import ScopePicker

        regions = {scope.region for scope in self.fleet.scopes if scope.region}
        regions |= {p.region for p in self.profiles if p.region}
        regions |= set(getattr(self.services.get_settings(), "regions", ()))
        picker = ScopePicker(
            list(self.profiles),
            list(self.accounts),
            self.selected,
            self.regions,
            sorted(regions),
            load_accounts=lambda: self.services.accounts(self.profiles),
        )

        def done(choice: ScopeChoice | None) -> None:
            if choice is not None:
                self.apply_scope(choice)

        self.app.push_screen(picker, done)

    # -- areas -----------------------------------------------------------------------------
    def sessions_area(self) -> Horizontal:
        """The sessions' container, mounted on first use (hidden until `show_area`)."""
        found = self.query("#sessions")
        if found:
            return found.first(Horizontal)
        self.app.use_styles("sessions")  # type: ignore[attr-defined]
        area = Horizontal(id="sessions")
        area.display = False
        self.mount(area, after=self.fleet)
        return area

    def show_area(self, name: str) -> None:
        """Show the fleet (with its side panels) or the sessions ("fleet" or "sessions")."""
        self.fleet.display = name == "fleet"
        self.sync_side()
        if name == "sessions" or self.query("#sessions"):
            self.sessions_area().display = name == "sessions"

    def sync_side(self) -> None:
        """The side column shows beside the fleet when it holds a panel."""
        for side in self.query("#side"):
            side.display = self.fleet.display and bool(side.children)

    async def side_column(self) -> Vertical:
        """The column beside the fleet for side panels, mounted on first use."""
        found = self.query("#side")
        if found:
            return found.first(Vertical)
        self.app.use_styles("history", "logs")  # type: ignore[attr-defined]
        side = Vertical(id="side")
        await self.mount(side, after=self.fleet)
        return side

    # -- side panels (issue 7) ---------------------------------------------------------------
    async def mount_side_panel(self, panel: Widget) -> None:
        """Add a panel beside the fleet table (history, logs); the side column appears."""
        side = await self.side_column()
        await side.mount(panel)
        self.sync_side()

    async def action_side_panel(self, kind: str) -> None:
        from ssm_tui.ui.widgets.side_panels import toggle_side_panel

        await toggle_side_panel(self, kind)

    @on(FleetTable.Highlighted)
    def _side_panels_follow(self, event: FleetTable.Highlighted) -> None:
        if not any(side.children for side in self.query("#side")):
            return  # no panel open: don't import the panels (aiobotocore) on the UI thread
        from ssm_tui.ui.widgets.side_panels import follow_selection

        follow_selection(self, event.row)

    # -- tabs ------------------------------------------------------------------------------
    @on(TabBar.TabActivated, "#tabs")
    def _tab_activated(self, event: TabBar.TabActivated) -> None:
        tab_id = event.tab_id or FLEET_TAB
        if tab_id == FLEET_TAB:
            self.show_area("fleet")
            self.fleet.table.focus()
            return
        view_id = "session-" + tab_id.removeprefix("tab-")
        self.show_area("sessions")
        self._layout_sessions(view_id)

    @on(TabBar.Entered, "#tabs")
    def _tab_entered(self, event: TabBar.Entered) -> None:
        """Enter or `i` on the tab bar: back into the pane (after ctrl+]) or the fleet table."""
        self._tab_activated(TabBar.TabActivated(self.tabs, event.tab_id))

    def action_tab(self, number: int) -> None:
        """alt+1..9: the fleet is 1, sessions follow in tab order."""
        tabs = self.tabs
        if number > tabs.tab_count:
            self.app.bell()
        elif tabs.tabs[number - 1].id == tabs.active:  # already shown: into it
            self._tab_activated(TabBar.TabActivated(tabs, tabs.active))
        else:
            tabs.activate_number(number)

    def _layout_sessions(self, active: str) -> None:
        shown = {active}
        if self.split and len(self._order) > 1:
            if self._partner not in self._order or self._partner == active:
                index = self._order.index(active)
                self._partner = self._order[index - 1] if index else self._order[1]
            shown.add(self._partner)
        for view in self.query(SessionView):
            view.display = view.id in shown
        # not query_one: Textual caches its answers per id, and session ids are never reused,
        # so each closed session's view stayed pinned in that cache (issue 13, ~0.8 MB each)
        view = self.query(f"#{active}").only_one(SessionView)
        target = view.pane if view.pane is not None and view.state == "connected" else view
        target.focus()

    def release_terminal_focus(self, pane: Widget) -> None:
        """ctrl+] in a pane: the keyboard goes back to the app, never to the other split pane.

        The fleet table when the fleet is shown, else the tab bar (where ←/→, ctrl+w, v, f and
        ctrl+q work).
        """
        if self.tabs.active == FLEET_TAB:
            self.fleet.table.focus()
        else:
            self.tabs.focus()

    def _active_view(self) -> SessionView | None:
        active = self.tabs.active
        if not active or active == FLEET_TAB:
            return None
        views = self.query(f"#session-{active.removeprefix('tab-')}")
        return views.first(SessionView) if views else None

    def action_audit(self, kind: str) -> None:
        """Search every transcript / watch sessions of the shown scopes (`screens/audit.py`)."""
        from ssm_tui.ui.screens.audit import open_audit

        open_audit(self.app, self.services, list(self.fleet.scopes), kind)

    def action_run_command(self, every_shown: bool = False) -> None:
        """Run Command on the highlighted row, or every row shown (`ui/screens/run.py`)."""
        from ssm_tui.ui.screens.run import open_run

        open_run(self, self.services, every_shown)

    def action_ssh(self) -> None:
        from ssm_tui.ui.screens.ssh import open_ssh

        open_ssh(self)

    def action_forwards(self) -> None:
        from ssm_tui.ui.screens.forwards import open_forwards

        open_forwards(self.app)

    def action_rdp(self) -> None:
        from ssm_tui.ui.screens.rdp import open_rdp

        open_rdp(self)

    def action_broadcast(self) -> None:
        from ssm_tui.ui import broadcast

        broadcast.toggle(self)

    def action_broadcast_tab(self) -> None:
        from ssm_tui.ui import broadcast

        broadcast.toggle_tab(self)

    def action_next_tab(self) -> None:
        self.tabs.action_next_tab()

    def action_prev_tab(self) -> None:
        self.tabs.action_previous_tab()

    def action_fleet(self) -> None:
        self.tabs.active = FLEET_TAB

    def action_escape(self) -> None:
        if self.fleet.clear_or_leave_filter():
            return
        if self.tabs.active != FLEET_TAB:
            self.tabs.active = FLEET_TAB

    def action_copy(self) -> None:
        from ssm_tui.ui.screens.copy import open_copy_menu

        open_copy_menu(self)

    def action_toggle_split(self) -> None:
        if len(self._order) < 2:
            self.notify("Open two sessions to split the view.", timeout=3)
            return
        self.split = not self.split
        self._partner = None
        view = self._active_view()
        if view is None:
            self.tabs.active = "tab-" + self._order[-1].removeprefix("session-")
        else:
            self._layout_sessions(view.id or "")
        self.sessions_area().set_class(self.split, "-split")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("close_tab",):
            return self._active_view() is not None
        if action == "toggle_split":
            return len(self._order) >= 2 or None
        if action == "sso_login":  # shown only while a profile needs it (issue 15)
            return bool(self._logins_to_offer())
        return True

    # -- SSO login (issue 15: `ssm_tui/ui/screens/sso_login.py`) ---------------------------
    def _logins_to_offer(self) -> list[str]:
        fleets = self.query(FleetView)
        if not fleets or not fleets.first().progress.errors:
            return []  # the usual case, and the first frame's: no import, no walk
        from ssm_tui.ui.screens.sso_login import logins_to_offer

        fleet = fleets.first()
        row = fleet.table.cursor_row if fleet.query(FleetTable) else None
        return logins_to_offer(fleet.progress.errors, getattr(row, "profiles", ()) or ())

    def sso_login_commands(self) -> Iterator[SystemCommand]:
        """The palette's "SSO login: X", one per profile that needs it (`SsmTuiApp`)."""
        for profile in self._logins_to_offer():
            yield SystemCommand(
                f"SSO login: {profile}",
                "Log in with IAM Identity Center, as aws sso login (L)",
                partial(self.action_sso_login, profile),
            )

    def action_sso_login(self, profile: str | None = None) -> None:
        """`L`: the device login of a profile that failed for want of it, then its rows."""
        from ssm_tui.ui.screens.sso_login import SsoLoginScreen

        offered = self._logins_to_offer()
        if profile is not None:
            offered = [profile, *offered]
        if not offered:
            self.notify("No profile needs an SSO login.", timeout=4)
            return

        def done(result: object) -> None:
            if result is None:
                return
            profiles = set(getattr(getattr(result, "target", None), "profiles", ()) or ())
            scopes = [scope for scope in self.fleet.scopes if scope.profile in profiles]
            self.fleet.refresh_scopes(scopes)
            names = ", ".join(sorted({scope.profile for scope in scopes})) or offered[0]
            self.notify(f"Logged in; listing {names} again.", title="SSO login", timeout=5)

        login = SsoLoginScreen(self.services, offered[0], also=tuple(offered[1:]))
        self.app.push_screen(login, done)

    # -- sessions --------------------------------------------------------------------------
    @on(FleetView.ConnectRequested)
    def _connect_requested(self, event: FleetView.ConnectRequested) -> None:
        event.stop()
        if not event.choose:
            self.open_session(event.instance, DocumentChoice())
            return

        def chosen(choice: DocumentChoice | None) -> None:
            if choice is not None:
                self.open_session(event.instance, choice)

        from ssm_tui.ui.screens.document import DocumentPicker

        self.app.push_screen(DocumentPicker(event.instance), chosen)

    def open_session(self, instance: Instance, choice: DocumentChoice) -> None:
        """Open a tab now (it says "connecting…") and start the session in a worker."""
        from ssm_tui.ui.screens.audit_reason import ask_reason

        if ask_reason(self, instance, choice):  # issue 17: a required reason first
            return
        number = next(self._ids)
        view = SessionView(instance, choice, id=f"session-{number}")
        view.opened_from = self.tabs.active  # a failed start goes back there (issue 15)
        self._order.append(view.id or "")
        self.sessions_area().mount(view)
        self.tabs.add_tab(Text(view.title), f"tab-{number}")
        self.tabs.active = f"tab-{number}"
        self._start(view.id or "", instance, choice)

    @work(group="session-start", exit_on_error=False, description="StartSession")
    async def _start(self, view_id: str, instance: Instance, choice: DocumentChoice) -> None:
        try:
            opened = await self.sessions.open_session(instance, choice)
        except StartFailed as failed:  # explained, with its next step
            error = failed.error
            error = self.fleet.session_denied(instance, error)  # issue 15: remembered, who else
            self.post_message(SessionFailed(error, instance.instance_id, view_id))
            return
        if opened is None:
            return  # the exit path began: it ends the session; no plugin process now
        started, launch, login = opened
        self.fleet.session_started(instance)  # issue 15: the profile that last worked
        self.post_message(
            SessionOpened(started, launch, instance.account_id, instance.name, login, view_id)
        )

    @on(SessionOpened)
    async def _session_opened(self, message: SessionOpened) -> None:
        views = self.query(f"#{message.view_id}")
        if not views:  # the tab was closed while StartSession ran
            message.launch.close()
            self._end_session(message.started.session_id)
            return
        view = views.first(SessionView)
        self.sessions.record_start(message.started, message.account_id, message.launch.label)
        self._history_follows(None)
        pane = cast("TerminalPane", await view.attach(message.started, message.launch))
        if self.tabs.active == f"tab-{(view.id or '').removeprefix('session-')}":
            pane.focus()
        if getattr(self, "broadcast_state", None) is not None:  # a reconnected pane: its hook
            from ssm_tui.ui import broadcast

            broadcast.sync(self)
        if message.login_command:
            self._type_login(pane, message.login_command)
        if message.started.document_name and message.started.document_name.startswith(
            "AWS-StartPortForwarding"
        ):
            self._announce_forwarding(pane, view)

    @work(group="session-login", exit_on_error=False, description="port forwarding")
    async def _announce_forwarding(self, pane: TerminalPane, view: SessionView) -> None:
        """Say "Port forwarding on …" once the plugin has opened the port, never before.

        A taken local port makes the plugin fail instead: its error is the pane's last word and
        no success notification may contradict it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOGIN_WAIT
        while loop.time() < deadline and getattr(pane, "exit_status", None) is None:
            if "opened for sessionId" in (text := pane.screen_text()):
                if view.learn_local_port(text) is not None:  # local port 0: the real one
                    self.tabs.set_label("tab-" + (view.id or "").removeprefix("session-"),
                                        Text(view.title))  # fmt: skip
                self.notify(f"Port forwarding on {view.choice.label}.", timeout=6, markup=False)
                return
            await asyncio.sleep(0.05)

    @work(group="session-login", exit_on_error=False, description="login command")
    async def _type_login(self, pane: TerminalPane, command: str) -> None:
        """Type the login command once the shell printed something (its prompt)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOGIN_WAIT
        while loop.time() < deadline:
            if getattr(pane, "exit_status", None) is not None:
                return
            if pane.process is not None and pane.screen_text().strip():
                break
            await asyncio.sleep(0.05)
        pane.send((command + "\r").encode())

    @on(SessionFailed)
    async def _session_failed(self, message: SessionFailed) -> None:
        self.notify_error(f"Could not connect to {message.target}", message.error)
        views = self.query(f"#{message.view_id}")
        if not views:
            return
        view = views.first(SessionView)
        if view.started is None:
            shown = self.tabs.active == "tab-" + (view.id or "").removeprefix("session-")
            await self._remove_view(view, back_to=view.opened_from if shown else None)
        else:
            view.mark_failed(message.error.message)

    @on(SessionView.ReconnectRequested)
    def _reconnect(self, event: SessionView.ReconnectRequested) -> None:
        view = event.view
        view.mark_starting()
        self._start(view.id or "", view.instance, view.choice)

    async def on_terminal_pane_exited(self, event: TerminalPane.Exited) -> None:
        """The plugin ended: say so in the tab and end the AWS session if it is still open."""
        pane = event.pane
        status = event.exit_status
        view = pane.parent
        if not isinstance(view, SessionView) or view.pane is not pane:
            return
        view.mark_ended(status)
        if view.started is not None:
            self.sessions.record_end(view.started.session_id, status)
            self._history_follows(view.started.session_id, status)
            self._end_session(view.started.session_id)

    def action_close_tab(self) -> None:
        view = self._active_view()
        if view is not None:
            from ssm_tui.ui.screens.confirm import close_tab

            close_tab(self.app, view, lambda: self._close(view))

    @work(group="session-close", exit_on_error=False, description="close session")
    async def _close(self, view: SessionView) -> None:
        started = view.started
        if view.pane is not None:
            await view.pane.terminate()
        if started is not None:
            status = getattr(view.pane, "exit_status", None)
            if self.sessions.record_end(started.session_id, status):  # not yet ended
                self._history_follows(started.session_id, status)
            await self.sessions.end(started)
        await self._remove_view(view)

    async def _remove_view(self, view: SessionView, back_to: str | None = None) -> None:
        view_id = view.id or ""
        if view_id in self._order:
            index = self._order.index(view_id)
            self._order.remove(view_id)
        else:
            index = 0
        tab_id = "tab-" + view_id.removeprefix("session-")
        if back_to and any(tab.id == back_to for tab in self.tabs.tabs):
            self.tabs.active = back_to  # before the removal: no other tab shows in between
        await view.remove()
        self.tabs.remove_tab(tab_id)
        if getattr(self, "broadcast_state", None) is not None:  # issue 16: out of the broadcast
            from ssm_tui.ui import broadcast

            broadcast.forget(self, view_id)
        if self.tabs.active == back_to:
            pass
        elif self._order:
            following = self._order[min(index, len(self._order) - 1)]
            self.tabs.active = "tab-" + following.removeprefix("session-")
        else:
            self.tabs.active = FLEET_TAB
        if not self._order:
            self.split = False
            self.sessions_area().set_class(False, "-split")

    def _history_follows(self, session_id: str | None, exit_status: int | None = None) -> None:
        """Open history panels follow the app's own sessions (None: one just opened)."""
        for found in self.query("HistoryPanel"):  # by name: no import before a panel exists
            panel = cast("HistoryPanel", found)
            if session_id is None:
                panel.session_started()
            else:
                panel.session_ended(session_id, exit_status)

    @work(group="session-end", exit_on_error=False, description="TerminateSession")
    async def _end_session(self, session_id: str) -> None:
        await self.sessions.end_id(session_id)

    # -- transcripts -------------------------------------------------------------------------
    @on(TranscriptRequested)
    def _transcript_requested(self, message: TranscriptRequested) -> None:
        """A side panel asked for a transcript: the viewer reads it through the services."""
        message.stop()
        from ssm_tui.ui.screens.transcript import viewer_for

        self.app.push_screen(viewer_for(message, self.services.transcript_source()))

    # -- errors ----------------------------------------------------------------------------
    def notify_error(self, title: str, error: ScopeError) -> None:
        """An AWS failure as a notification: what happened and the next step."""
        text = error.message + (f"\n→ {error.hint}" if error.hint else "")
        self.notify(text, title=title, severity="error", timeout=12, markup=False)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's unexpected exception becomes visible (app keeps running)."""
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        if worker.group == "fleet-refresh":
            self.fleet.refresh_failed()
        error = worker.error
        self.notify(
            f"{type(error).__name__}: {error}",
            title=f"{worker.description or worker.name} failed",
            severity="error",
            timeout=12,
            markup=False,
        )
