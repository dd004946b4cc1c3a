"""The fleet pane: favourites row, refresh progress, filter box, the instance table, a status line.

It owns the `FleetModel` and the inventory refresh worker. The cache is drawn at mount, then a
worker streams `ScopeResult`s from the inventory service; each result patches the model (rows of
that scope only) and redraws the changed lines, keeping cursor, sort and filter. A timer repeats
the refresh every `refresh_interval` seconds.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from ssm_tui.aws.models import Instance, Scope, ScopeError, ScopeResult
from ssm_tui.nodes import Reach
from ssm_tui.ui.fleet_model import COLUMNS, FleetModel
from ssm_tui.ui.messages import RefreshFinished, ScopeLoaded
from ssm_tui.ui.services import Services
from ssm_tui.ui.widgets.fleet_extras import FleetExtras
from ssm_tui.ui.widgets.fleet_table import FleetTable
from ssm_tui.ui.widgets.line import Line
from ssm_tui.ui.widgets.scope_progress import ScopeProgress

FILTER_HINT = "filter: words, tag:Key=Value, status:online, account:prod"


def _age(elapsed: timedelta) -> str:
    """`45s`, `12m`, `3h`, `2d`: how old a failed scope's rows are."""
    seconds = max(0, int(elapsed.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class FleetView(FleetExtras, Vertical):
    """Every instance of the selected scopes, filtered as you type."""

    BINDING_GROUP_TITLE = "Fleet"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="fleet.filter", tooltip="Filter as you type"),
        Binding(
            "a", "toggle_online", "All/online", id="fleet.all", tooltip="Show offline instances"
        ),
        Binding("s", "sort", "Sort", id="fleet.sort", tooltip="Sort by the next column"),
        Binding("S", "sort(True)", "Reverse sort", id="fleet.reverse", show=False),
        Binding("r", "refresh", "Refresh", id="fleet.refresh", tooltip="Refresh the inventory now"),
        Binding(
            "c",
            "connect_with",
            "Connect with…",
            id="fleet.connect_with",
            tooltip="Shell, port forwarding or a command",
        ),
        Binding("e", "errors", "Errors", id="fleet.errors", show=False),
        Binding(
            "d",
            "details",
            "Details",
            id="fleet.details",
            tooltip="Everything about the highlighted instance, beside the fleet",
        ),
    ]

    class ConnectRequested(Message):
        """The user wants a session on `instance` (`choose` = open the document picker)."""

        def __init__(self, instance: Instance, choose: bool) -> None:
            super().__init__()
            self.instance = instance
            self.choose = choose

    def __init__(self, services: Services, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.services = services
        self.model = FleetModel(clock=services.clock)
        self.scopes: list[Scope] = []
        self._refresh_id = 0
        self._refreshing = False
        self._cache_pending = False
        """Only the cache's first rows are drawn yet (see `load_cache`)."""
        self._reading_rest = False
        self.cache_read = asyncio.Event()
        """Set once every cached row is in the model."""
        self._listed: set[Scope] = set()
        """Scopes a refresh has answered: the cache never overwrites their rows."""
        self._fetched: dict[Scope, datetime | None] = {}
        """When each scope's rows on show were listed (the cache's time, or a refresh's)."""
        self._typed: list[str] | None = None
        """Text typed after `/` before the filter box had the focus (None: not waiting)."""
        self._froze = False
        """This view moved the objects alive once the cache was read out of the collector."""

    def compose(self) -> ComposeResult:
        yield Line("", id="favourites")
        yield ScopeProgress(id="progress")
        # the filter box is mounted right after the first frame: an Input costs about as much
        # to mount as the table (measured), and nobody types before seeing the fleet
        yield Line(FILTER_HINT, id="filter-placeholder")
        yield FleetTable(self.model, id="fleet")
        yield Line("", id="fleet-status")

    def on_mount(self) -> None:
        self.call_after_refresh(self._filter_box)

    def _filter_box(self) -> Input | None:
        """The filter box, mounted in the placeholder's place on first need (None: unmounted)."""
        boxes = self.query("#filter")
        if boxes:
            return boxes.first(Input)
        if not self.is_attached:  # the app quit before this ran
            return None
        box = Input(placeholder=FILTER_HINT, id="filter")
        placeholder = self.query_one("#filter-placeholder")
        with self.app.batch_update():
            self.mount(box, before=placeholder)
            placeholder.remove()
        return box

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    @property
    def progress(self) -> ScopeProgress:
        return self.query_one(ScopeProgress)

    # -- scopes and refresh ----------------------------------------------------------------
    def load_cache(self) -> None:
        """Draw the cached inventory at once (every scope; the view shows the selected ones).

        The first frame needs only the rows it shows: when the cache can give the first Online
        rows by name with the whole fleet's counts and column widths, those are drawn, and
        the rest is read right after that frame, on a thread (measured: reading 2,000 cached
        instances took ~25 ms of a ~300 ms start; 10,000 took ~96 ms).
        """
        head = None
        if self.model.default_view:
            head = self.services.cached_head(max(self.app.size.height, 60))
        if head is not None and len(head.widths) != len(COLUMNS):
            head = None  # saved by a version with other columns: read the whole cache
        if head is None:
            self._show_rest(self.services.cached())
            return
        keys = self.model.preview(
            head.instances, total=head.total, online=head.online, widths=head.widths
        )
        self._cache_pending = True
        self.table.show(keys, rows=head.online)
        self._draw_status()
        self.call_after_refresh(self.finish_cache)

    def finish_cache(self) -> None:
        """Start reading the rest of the cache if only its first rows are drawn (idempotent)."""
        if self._cache_pending and not self._reading_rest:
            self._reading_rest = True
            self._read_rest()

    @work(thread=True, group="fleet-cache", exit_on_error=False, description="the cache")
    def _read_rest(self) -> None:
        """The whole cache, read and decoded off the UI thread; the result comes as a message."""
        self.post_message(self._RestRead(self.services.cached()))

    class _RestRead(Message):
        def __init__(self, results: list[ScopeResult]) -> None:
            super().__init__()
            self.results = results

    @on(_RestRead)
    def _rest_read(self, message: _RestRead) -> None:
        message.stop()
        if self._cache_pending:  # else a key already needed it and read it (`redraw`)
            self._show_rest(message.results)

    def _show_rest(self, results: list[ScopeResult]) -> None:
        """Every cached row (scopes a refresh already answered keep their fresher rows)."""
        self._cache_pending = False
        self.cache_read.set()
        for result in results:
            if result.scope not in self._listed:
                self.model.replace_scope(result.scope, result.instances)
                self._fetched[result.scope] = result.fetched_at
        self.model.set_reach(self.read_reach())
        self.table.show(self.model.recompute())
        self._draw_status()
        self._freeze_fleet()
        # the search index thread would share the GIL with the first paint: start it after
        self.call_after_refresh(self._warm_search)

    def _freeze_fleet(self) -> None:
        """Leave the start-up's objects (the cached fleet, the app) out of garbage collections.

        A full collection walks every tracked object: with 10,000 nodes (30,000 cached
        instances) that took 0.3-1 s here, and it came every 20-40 filter keystrokes, in the
        middle of one (the benchmark's p95). `gc.freeze` moves what is alive now aside (they
        are still freed when unreferenced); collections then walk only what came later. Once
        per app, at start-up (no session is open yet: a closed session's widgets must stay
        collectable, issue 13); undone when the fleet goes (`on_unmount`), so a process
        running many apps (the tests) collects each one's leftovers. Rows rebuilt later (a
        refresh, a new profile order) are walked again: the first full collection after
        start-up still cost ~100 ms in the benchmark.
        """
        # a slow cache read (a loaded machine) can end after a session opened: its widgets
        # would then be frozen with the fleet and never collected once closed (cycles)
        if not self._froze and not self.screen.query("SessionView"):
            self._froze = True
            gc.freeze()

    def on_unmount(self) -> None:
        if self._froze:
            gc.unfreeze()

    def set_scopes(self, scopes: Sequence[Scope], refresh: bool = True) -> None:
        """Show these profile/regions (rows of others stay cached) and refresh them."""
        self.scopes = list(scopes)
        self.model.set_profile_order([scope.profile for scope in self.scopes])
        self.model.scopes = set(self.scopes)
        self.redraw()
        if refresh:
            self.start_refresh()

    def start_refresh(self) -> None:
        self._refresh_id += 1
        self._refreshing = True
        self.progress.start(self.scopes)
        self._refresh(list(self.scopes), self._refresh_id)

    def refresh_scopes(self, scopes: Sequence[Scope]) -> None:
        """List only these scopes again (after an SSO login), into the refresh on show: the
        other profiles' rows and progress stay as they are (issue 15)."""
        if scopes:
            self._refresh_some(list(scopes), self._refresh_id)

    @work(group="fleet-refresh-some", exit_on_error=False, description="inventory (some)")
    async def _refresh_some(self, scopes: list[Scope], refresh_id: int) -> None:
        def deliver(result: ScopeResult) -> None:
            self.post_message(ScopeLoaded(result, refresh_id))

        await self.services.stream(scopes, deliver)
        self.screen.refresh_bindings()

    def refresh_when_idle(self) -> None:
        """Timer callback: a refresh still running is left alone, not restarted.

        (Not `auto_refresh`: that name is Textual's `DOMNode.auto_refresh` property.)
        """
        if not self._refreshing and self.scopes:
            self.start_refresh()

    @work(exclusive=True, group="fleet-refresh", exit_on_error=False, description="inventory")
    async def _refresh(self, scopes: list[Scope], refresh_id: int) -> None:
        """List the scopes on the AWS thread; each result comes back as a message."""

        def deliver(result: ScopeResult) -> None:
            self.post_message(ScopeLoaded(result, refresh_id))

        if scopes:
            await self.services.stream(scopes, deliver)
            await self.ask_who(scopes)  # issues 15/17: who is connected, from AWS
        # a broken AWS config stays on the progress line until it is fixed (issue 13)
        self.progress.set_config_problems(await self.services.config_problems())
        self.post_message(RefreshFinished(refresh_id))

    @on(ScopeLoaded)
    def _scope_loaded(self, message: ScopeLoaded) -> None:
        message.stop()
        if message.refresh_id != self._refresh_id:
            return
        result = message.result
        self.progress.scope_done(result.scope, result.error, result.partial)
        if result.error is not None:  # its rows (if any) are older: dimmed, counted apart
            if result.scope not in self.model.stale:
                self.model.stale[result.scope] = self._fetched.get(result.scope)
                self.redraw(set(self.model._by_scope.get(result.scope, ())))
            return
        self._listed.add(result.scope)
        self._fetched[result.scope] = result.fetched_at
        was_stale = self.model.stale.pop(result.scope, False) is not False
        changed = self.model.replace_scope(result.scope, result.instances)
        if was_stale:
            changed |= set(self.model._by_scope.get(result.scope, ()))
        self.services.save(result)
        if changed:
            self.redraw(changed)

    @on(RefreshFinished)
    def _refresh_finished(self, message: RefreshFinished) -> None:
        message.stop()
        if message.refresh_id == self._refresh_id:
            self._refreshing = False
            self.progress.finish()
            self.screen.refresh_bindings()  # keys that depend on failures (L: SSO login)

    def refresh_failed(self) -> None:
        """The refresh worker raised (reported by the screen); allow the next one."""
        self._refreshing = False
        self.progress.finish()

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self, changed: set[str] | None = None) -> None:
        if self._cache_pending:  # a key or a refresh came before the rest of the cache
            self._show_rest(self.services.cached())
            changed = None
        self.table.show(self.model.recompute(), changed)
        self._draw_status()
        if changed is None or changed:
            self._warm_search()

    @work(thread=True, exclusive=True, group="fleet-search-index", exit_on_error=False)
    def _warm_search(self) -> None:
        """Prepare the search text of new rows off the UI thread, before the first keystroke."""
        self.model.warm()

    def _draw_status(self) -> None:
        total, online, shown = self.model.counts()
        sort_title = dict(COLUMNS)[self.model.sort_column]
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(f"{shown}", style="bold")
        line.append(f" shown of {total} ({online} online)")
        line.append("  ·  ")
        line.append("online only" if self.model.online_only else "all statuses", style="bold")
        line.append(f"  ·  sort: {sort_title}{' ▼' if self.model.sort_reverse else ''}")
        if self.model.query.text.strip():
            line.append("  ·  filter: ")
            line.append(self.model.query.text, style="italic")
        stale, oldest = self.model.stale_in_scope()
        if stale:
            line.append("  ·  ")
            line.append(f"{total - stale} fresh", style="bold")
            line.append(f", {stale} dimmed from failed profiles")
            if oldest is not None:
                line.append(f" (listed {_age(self.services.clock() - oldest)} ago)")
        self.describe_marks(line)  # issue 16: marked rows
        self.query_one("#fleet-status", Line).update(line)

    # -- filter ----------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.model.set_query(event.value)
        self.redraw(set())  # same rows, same widths: lines drawn before stay cached

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:
            return
        # focus moves on a later turn of the loop: keys already queued behind `/` (a fast
        # typist, a paste) would reach the table and run its commands (`p` of "prod" opened
        # the picker); they are kept here and given to the box once it has the focus
        self._typed = []
        if box.is_mounted:
            box.focus()
        else:  # "/" before the first frame was painted
            box.call_after_refresh(box.focus)

    def on_key(self, event: events.Key) -> None:
        """The filter key, and printable keys while the filter box is on its way (text for it).

        Why here rather than in the binding alone: a key bubbles from the table through this
        view before the app runs its binding, and the keys queued behind `/` pass here before
        that binding has run; so the filter key itself starts the capture as it passes.
        """
        if self._typed is None:
            bound = self._bindings.key_to_bindings.get(event.key, ())
            on_table = isinstance(self.app.focused, FleetTable)
            if on_table and any(b.action == "filter" for b in bound):
                event.stop()
                event.prevent_default()
                self.action_filter()
            return
        box = self.query("#filter")
        if box and box.first().has_focus:
            return
        if event.is_printable and event.character:
            self._typed.append(event.character)
            event.stop()
            event.prevent_default()
        elif event.key == "backspace" and self._typed:
            self._typed.pop()
            event.stop()
            event.prevent_default()

    def on_paste(self, event: events.Paste) -> None:
        """A paste while the table has the focus filters by it (a paste is never commands)."""
        if self._typed is None:
            self.action_filter()
        if self._typed is not None:
            self._typed.append(event.text.replace("\n", " ").replace("\r", ""))
            event.stop()

    @on(events.DescendantFocus)
    def _focus_moved(self, event: events.DescendantFocus) -> None:
        if self._typed is None:
            return
        if isinstance(event.widget, Input) and event.widget.id == "filter":
            typed, self._typed = "".join(self._typed), None
            if typed:
                event.widget.insert_text_at_cursor(typed)
        elif not isinstance(event.widget, FleetTable):
            self._typed = None

    def clear_or_leave_filter(self) -> bool:
        """Escape in the filter box: first clears it, then returns to the table."""
        boxes = self.query("#filter")
        if not boxes:
            return False
        box = boxes.first(Input)
        if not box.has_focus:
            return False
        if box.value:
            box.value = ""
        else:
            self.table.focus()
        return True

    def action_toggle_online(self) -> None:
        self.model.online_only = not self.model.online_only
        self.redraw()

    def action_sort(self, reverse: bool = False) -> None:
        keys = [key for key, _ in COLUMNS]
        if reverse:
            self.model.set_sort(self.model.sort_column, not self.model.sort_reverse)
        else:
            following = keys[(keys.index(self.model.sort_column) + 1) % len(keys)]
            self.model.set_sort(following)
        self.redraw()

    @on(FleetTable.SortRequested)
    def _sort_requested(self, event: FleetTable.SortRequested) -> None:
        event.stop()
        same = event.column == self.model.sort_column
        self.model.set_sort(event.column, not self.model.sort_reverse if same else False)
        self.redraw()

    def action_refresh(self) -> None:
        self.start_refresh()

    def action_errors(self) -> None:
        errors = self.progress.describe_errors()
        if not errors:
            self.notify("Every profile and region listed fine.", title="No errors")
            return
        lines = [
            (f"{scope.profile}/{scope.region}" if scope.region else scope.profile)
            + f": {error.message}"
            + (f"\n  → {error.hint}" if error.hint else "")
            for scope, error in errors
        ]
        from ssm_tui.ui.screens.sso_login import needs_login

        if any(needs_login(error) for _, error in errors):  # issue 15
            lines.append("Press L to log in from here (SSO login).")
        self.notify(
            "\n".join(lines),
            title="Profiles that failed",
            severity="error",
            timeout=15,
            markup=False,
        )

    # -- connect ---------------------------------------------------------------------------
    def read_reach(self) -> Reach:
        """Denials and last-used profiles (local record), preferred profiles (settings)."""
        from ssm_tui.ui.fleet_connect import read_reach

        return read_reach(self.services)

    @on(FleetTable.Selected)
    def _row_selected(self, event: FleetTable.Selected) -> None:
        event.stop()
        from ssm_tui.ui.fleet_connect import offline_reason

        why = offline_reason(event.row.instance, self.services.clock())
        if why is not None:  # StartSession would only fail with TargetNotConnected
            self.notify(why, title=f"{event.row.instance.name} is offline", markup=False)
            return
        self.post_message(self.ConnectRequested(event.row.instance, choose=False))

    def action_connect_with(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        if len(row.views) < 2:
            self.post_message(self.ConnectRequested(row.instance, choose=True))
            return
        from ssm_tui.ui.screens.profile_choice import ProfileChoice

        def chosen(instance: Instance | None) -> None:
            if instance is not None:
                self.post_message(self.ConnectRequested(instance, choose=True))

        self.app.push_screen(ProfileChoice(row, self.model.reach), chosen)

    async def action_details(self) -> None:
        """Open (or close) the detail panel of the highlighted instance beside the fleet."""
        from ssm_tui.ui.widgets.instance_detail import InstanceDetail

        screen: Any = self.screen
        open_panels = screen.query(InstanceDetail)
        if open_panels:
            await open_panels.remove()
            screen.sync_side()
            return
        panel = InstanceDetail(self.services, id="instance-detail")
        await screen.mount_side_panel(panel)
        panel.show(self.table.cursor_row, self.model.reach)

    @on(FleetTable.Highlighted)
    def _detail_follows(self, event: FleetTable.Highlighted) -> None:
        """The detail panel follows the cursor (the event goes on to the screen's panels)."""
        if not self.screen.query("InstanceDetail"):  # by name: no import until one is open
            return
        from ssm_tui.ui.widgets.instance_detail import InstanceDetail

        for panel in self.screen.query(InstanceDetail):
            panel.show(event.row, self.model.reach)

    def session_denied(self, instance: Instance, error: ScopeError) -> ScopeError:
        """StartSession was denied: remember it, re-choose, and say which profile can try."""
        from ssm_tui.ui.fleet_connect import after_denial

        error = after_denial(self.services, self.model, instance, error)
        self.redraw()
        return error

    def session_started(self, instance: Instance) -> None:
        """A session started with this profile: it is the last that worked, and not denied."""
        from ssm_tui.ui.fleet_connect import after_start

        if after_start(self.services, self.model, instance):
            self.redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "connect_with":
            tables = self.query(FleetTable)
            if not tables or tables.first().cursor_row is None:
                return None
        return True
