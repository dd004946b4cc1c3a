"""The auditor's screens: search every transcript of the shown profiles, and a live session feed.

Both call `ssm_tui.aws.audit` on the app's AWS thread (`Services.aws.run`), never on Textual's
loop, and show AWS text literally (`Text(visible_line(...))`: escapes as symbols, markup as is).
Enter on a hit opens the transcript viewer searching for the pattern, at its first match.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from ssm_tui.aws.models import Scope


def _shown(value: str) -> Text:
    from ssm_tui.term.transcript import visible_line

    return Text(visible_line(value))


def _when(value: Any) -> str:
    from ssm_tui.timefmt import format_time

    return format_time(value)


class AuditSearchScreen(Screen[None]):
    """`ssm-tui audit search` in the app: a pattern, then one row per matching line."""

    CSS_PATH = "../styles/audit.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close", id="audit.close", tooltip="Back"),
        Binding("slash", "focus_pattern", "Pattern", id="audit.pattern", tooltip="New search"),
    ]

    def __init__(self, services: Any, scopes: list[Scope], since: str = "7d") -> None:
        super().__init__()
        self.services = services
        self.scopes = scopes
        self.since = since
        self.hits: list[Any] = []
        self.pattern = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="audit"):
            yield Static(
                f"Search transcripts of {len(self.scopes)} profile/region scope(s), "
                f"last {self.since} (text; start with re: for a regex)",
                id="audit-title",
                markup=False,
            )
            yield Input(placeholder="sudo", id="audit-pattern")
            yield DataTable(id="audit-hits", cursor_type="row", zebra_stripes=True)
            yield Static("", id="audit-status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("TIME", "OWNER", "INSTANCE", "ACCOUNT", "REGION", "LINE")
        self.query_one(Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_focus_pattern(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#audit-pattern")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.pattern = event.value
            self.query_one("#audit-status", Static).update("searching…")
            self._search(event.value)

    @work(exclusive=True, group="audit-search", exit_on_error=False)
    async def _search(self, text: str) -> None:
        status = self.query_one("#audit-status", Static)
        try:
            query = self.services.audit_query(text, self.since)
        except Exception as exc:  # noqa: BLE001 - a bad regex is said, not raised
            status.update(f"not a regex: {exc}")
            return
        result = await self.services.audit_search(self.scopes, query)
        self.hits = list(result.hits)
        table = self.query_one(DataTable)
        table.clear()
        for n, hit in enumerate(self.hits):
            owner = _shown(hit.owner)
            if hit.owner_hint:
                owner.append(" (other tool)", style="dim")
            table.add_row(
                _when(hit.time),
                owner,
                _shown(hit.instance_name or hit.target),
                Text(hit.account_id),
                Text(hit.region),
                _shown(hit.line),
                key=str(n),
            )
        errors = "; ".join(f"{e.profile}: {e.message}" for e in result.errors)
        sessions = len({h.session_id for h in self.hits})
        status.update(
            f"{len(self.hits)} hit(s) in {sessions} session(s)" + (f" — {errors}" if errors else "")
        )
        if self.hits:
            table.focus()

    @on(DataTable.RowSelected, "#audit-hits")
    def _open(self, event: DataTable.RowSelected) -> None:
        from ssm_tui.ui.screens.transcript import TranscriptScreen

        hit = self.hits[int(str(event.row_key.value))]
        screen = TranscriptScreen(
            session_id=hit.session_id,
            profile=hit.profile,
            region=hit.region,
            source=self.services.transcript_source(),  # this screen's services, not the app's
        )
        self.app.use_styles("transcript")  # type: ignore[attr-defined]
        self.app.push_screen(screen)
        needle = hit.line.strip() if self.pattern.startswith("re:") else self.pattern
        from ssm_tui.text import strip_escapes

        screen.call_after_refresh(screen.search, strip_escapes(needle)[:200])


class AuditWatchScreen(Screen[None]):
    """Sessions starting and ending across the shown profiles (DescribeSessions polling)."""

    CSS_PATH = "../styles/audit.tcss"
    BINDINGS = [Binding("escape", "close", "Close", id="watch.close", tooltip="Back")]

    def __init__(self, services: Any, scopes: list[Scope], interval: float = 10.0) -> None:
        super().__init__()
        self.services = services
        self.scopes = scopes
        self.interval = interval
        self.watcher: Any = None
        self._polling = False

    def compose(self) -> ComposeResult:
        with Vertical(id="audit"):
            yield Static(
                f"Sessions across {len(self.scopes)} profile/region scope(s), every "
                f"{self.interval:g} s",
                id="audit-title",
                markup=False,
            )
            yield DataTable(id="watch-feed", cursor_type="row", zebra_stripes=True)
            yield Static("first poll…", id="audit-status", markup=False)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "EVENT", "SINCE", "OWNER", "INSTANCE", "ACCOUNT", "REGION", "REASON"
        )
        # a scope that fails is retried with a backoff, not given up
        self.watcher = self.services.audit_watcher(self.scopes, retry_first=self.interval)
        self._tick()
        self.set_interval(self.interval, self._tick, name="audit-watch")

    def _tick(self) -> None:
        """Poll, unless the last poll is still running: cancelling it (a poll longer than the
        interval, under load) dropped the events it had already taken from the watcher."""
        if not self._polling:
            self._polling = True
            self._poll()

    def action_close(self) -> None:
        self.dismiss(None)

    @work(group="audit-watch", exit_on_error=False)
    async def _poll(self) -> None:
        try:
            events = await self.services.aws.run(self.watcher.poll())
        finally:
            self._polling = False
        table = self.query_one(DataTable)
        for event in events:
            owner = _shown(event.owner)
            if event.owner_hint:
                owner.append(" (other tool)", style="dim")
            table.add_row(
                Text(event.kind, style="bold" if event.kind == "start" else ""),
                _when(event.end if event.kind == "end" else event.start),
                owner,
                _shown(event.instance_name or event.target),
                Text(event.account_id),
                Text(event.region),
                _shown(event.reason),
            )
        for scope in self.watcher.recovered:
            self.notify(
                f"{scope.profile} ({scope.region}) works again", title="Watch", markup=False
            )
        errors = "; ".join(f"{e.profile}: {e.message}" for e in self.watcher.errors)
        back = ", ".join(s.profile for s in self.watcher.recovered)
        self.query_one("#audit-status", Static).update(
            f"{table.row_count} event(s)"
            + (f" — {errors}" if errors else "")
            + (f" — working again: {back}" if back else "")
        )


def open_audit(app: Any, services: Any, scopes: list[Scope], kind: str) -> None:
    """Push the search ('search') or the watch feed ('watch') over the main screen."""
    if kind == "search":
        app.push_screen(AuditSearchScreen(services, scopes))
        return
    settings = services.get_settings()
    interval = float(getattr(getattr(settings, "audit", None), "watch_interval", 10.0))
    app.push_screen(AuditWatchScreen(services, scopes, interval))
