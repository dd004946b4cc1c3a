"""The log streams side panel: my session transcripts (CloudWatch streams and S3 objects).

Reads each profile's Session Manager preferences and lists the transcripts whose names begin
with the caller's session name, newest first (`e` shows everyone's where permissions allow),
filterable with `/`, `m` for more. When there is nothing to list it says why, in words the user
can act on: logging not configured (and how to turn it on), no permission (the IAM action), not
written yet (sessions upload at the end). Enter opens the transcript in the viewer.

Like the history panel, it runs its own worker over a loader (`Services.transcript_listings`,
on the AWS loop) and needs nothing from its host but `panel.show_for(scopes)`; Enter posts
`TranscriptRequested` for the screen to open the viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from ssm_tui.aws.models import Scope
from ssm_tui.aws.models.logs import TRANSCRIPT_LIMIT, TranscriptListing, TranscriptRef
from ssm_tui.services import Services
from ssm_tui.term.transcript import visible_line as _symbols
from ssm_tui.text import printable
from ssm_tui.timefmt import format_time, zone_label
from ssm_tui.ui.messages import TranscriptRequested

ListingsLoader = Callable[[Sequence[Scope], bool, int], Awaitable[list[TranscriptListing]]]
"""(scopes, everyone, limit) -> one listing per scope (`Services.transcript_listings`)."""

COLUMNS = ("Time", "Session", "Instance", "Source", "Size", "Profile")


def visible_line(value: str) -> str:
    """AWS text for a cell: controls as symbols, bidi/format characters escaped (`ssm_tui.text`)."""
    return printable(_symbols(value))


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


@dataclass(frozen=True)
class SessionTranscripts:
    """One row: a session's transcripts (CloudWatch and/or S3), who ran it and where.

    `profile` and `target` come from the local session record when this machine started the
    session (the profile that really ran it, not whichever of an account's profiles listed the
    transcript first); `name` from the fleet's rows.
    """

    session_id: str
    refs: tuple[TranscriptRef, ...]
    profile: str
    target: str = ""
    name: str = ""

    @property
    def key(self) -> str:
        return self.refs[0].key

    @property
    def last_time(self) -> Any:
        times = [r.last_time for r in self.refs if r.last_time is not None]
        return max(times) if times else None

    def ref(self, source: str | None = None) -> TranscriptRef:
        """The transcript to open: that source if listed, else CloudWatch, else S3."""
        for wanted in (source, "cloudwatch", "s3"):
            for ref in self.refs:
                if ref.source == wanted:
                    return ref
        return self.refs[0]


def row_cells(row: SessionTranscripts) -> list[Text]:
    sources = {ref.source for ref in row.refs}
    source = "+".join(name for key, name in (("cloudwatch", "CloudWatch"), ("s3", "S3"))
                      if key in sources)  # fmt: skip
    sizes = [ref.size for ref in row.refs if ref.size is not None]
    instance = row.name or row.target
    return [
        Text(format_time(row.last_time)),
        Text(visible_line(row.session_id)),
        Text(visible_line(instance)),
        Text(source),
        Text(size_text(max(sizes) if sizes else None), justify="right"),
        Text(f"{row.profile} {row.refs[0].region}"),
    ]


class LogsPanel(Vertical, can_focus=False):
    """Transcripts of the selected profiles, newest first, with clear empty/error states."""

    BINDINGS = [
        Binding("e", "toggle_everyone", "Mine/all", id="logs.everyone", tooltip="Everyone's"),
        Binding("slash", "search", "Filter", id="logs.search", tooltip="Filter by session id"),
        Binding("m", "more", "More", id="logs.more", tooltip="List more transcripts"),
        Binding("r", "reload", "Reload", id="logs.reload", tooltip="Ask AWS again"),
        Binding("s", "open('s3')", "S3 copy", id="logs.s3", tooltip="Open the S3 transcript"),
    ]

    @dataclass
    class Loaded(Message):
        """Listings of every scope (posted by the panel's worker to the panel)."""

        listings: list[TranscriptListing]
        request: int

    def __init__(
        self,
        *,
        load_listings: ListingsLoader | None = None,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._load_listings = load_listings
        """None: the app's services object (`app.services.transcript_listings`)."""
        self.scopes: tuple[Scope, ...] = ()
        self.everyone = False
        self.limit = TRANSCRIPT_LIMIT
        self.listings: list[TranscriptListing] = []
        self.filter = ""
        self._refs: dict[str, SessionTranscripts] = {}
        self._request = 0
        self.local: dict[str, Any] = {}
        """session id -> `LocalSession` of this machine's record (profile and target)."""
        self.names: dict[str, str] = {}
        """instance id -> name, from the fleet's rows."""

    def compose(self) -> ComposeResult:
        yield Static("Transcripts", id="logs-title", markup=False)
        yield Static("", id="logs-prefs", markup=False)
        search = Input(placeholder="filter by session id…", id="logs-filter")
        search.display = search.can_focus = False  # shown (and focusable) after `/` only
        yield search
        table: DataTable[Text] = DataTable(id="logs-table", cursor_type="row")
        table.add_columns(f"{COLUMNS[0]} ({zone_label()})", *COLUMNS[1:])
        yield table
        yield Static("", id="logs-status", markup=False)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#logs-table", DataTable)

    def show_for(self, scopes: Sequence[Scope]) -> None:
        """List the transcripts of `scopes` (one per profile is enough: logs are per account)."""
        self.scopes = tuple(scopes)
        self.action_reload()

    def show_listings(self, listings: list[TranscriptListing]) -> None:
        """Fill the panel from listings (the worker's, or prepared ones in tests)."""
        self.listings = listings
        self._fill()

    @property
    def items(self) -> list[TranscriptRef]:
        """Every listed transcript, newest first, after the filter."""
        unique: dict[tuple[str, str, str, str], TranscriptRef] = {}
        for listing in self.listings:
            for ref in listing.items:  # two profiles of one account list the same transcript
                unique.setdefault((ref.source, ref.region, ref.container, ref.name), ref)
        refs = list(unique.values())
        if self.filter:
            refs = [ref for ref in refs if ref.matches(self.filter)]
        return sorted(refs, key=lambda r: (r.last_time is not None, r.last_time), reverse=True)

    def on_mount(self) -> None:
        self._learn_names()

    def _learn_names(self) -> None:
        """Who ran each session (the local record) and instance names (the fleet's rows)."""
        services = getattr(self.app, "services", None)
        store = services.get_store() if services is not None else None
        if store:
            try:
                self.local = {r.session_id: r for r in store.local_sessions()}
            except Exception:  # noqa: BLE001 - names are a nicety; the rows still list
                self.local = {}
        from ssm_tui.ui.widgets.fleet_view import FleetView

        for fleet in self.screen.query(FleetView):
            for row in fleet.model.rows.values():
                instance = row.instance
                if instance.name:
                    self.names.setdefault(instance.instance_id, instance.name)

    @property
    def rows(self) -> list[SessionTranscripts]:
        """One row per session (its CloudWatch and S3 transcripts together), newest first."""
        grouped: dict[tuple[str, str], list[TranscriptRef]] = {}
        for ref in self.items:
            grouped.setdefault((ref.region, ref.session_id), []).append(ref)
        rows = []
        for (_region, session_id), refs in grouped.items():
            local = self.local.get(session_id)
            target = local.target if local is not None else ""
            rows.append(
                SessionTranscripts(
                    session_id,
                    tuple(refs),
                    local.profile if local is not None else refs[0].profile,
                    target,
                    self.names.get(target, ""),
                )
            )
        return rows

    def _fill(self) -> None:
        table = self.table
        previous = self.selected_row
        table.clear()
        self._learn_names()
        rows = self.rows
        self._refs = {row.key: row for row in rows}
        for row in rows:
            table.add_row(*row_cells(row), key=row.key)
        if previous is not None and previous.key in self._refs:
            table.move_cursor(row=table.get_row_index(previous.key))
        self._update_header()
        self._update_status()

    def _update_header(self) -> None:
        whose = "everyone's" if self.everyone else "mine"
        names = sorted({f"{x.caller.name}" for x in self.listings if x.caller})
        who = f" ({', '.join(names)}-…)" if names and not self.everyone else ""
        count = len(self._refs)
        more = "+" if any(x.truncated for x in self.listings) else ""
        self.query_one("#logs-title", Static).update(
            Text(f"Transcripts · {whose}{who} · {count}{more}", no_wrap=True, overflow="ellipsis")
        )
        prefs = [x.preferences for x in self.listings if x.preferences is not None]
        lines = [f"{p.profile} {p.region}: {p.describe()}" for p in prefs]
        self.query_one("#logs-prefs", Static).update(
            Text("\n".join(lines), no_wrap=True, overflow="ellipsis")
        )

    def _update_status(self, note: str = "") -> None:
        lines: list[str] = []
        problems = [p for listing in self.listings for p in listing.problems]
        for problem in problems:
            lines.append(
                f"{problem.profile}: {problem.message}" if problem.profile else problem.message
            )
            if problem.hint:
                lines.append(f"  → {problem.hint}")
        if self.listings and not self._refs and not problems:
            if self.filter:
                lines.append(f"no transcript matches {self.filter!r}")
            else:
                lines.append(
                    "no transcripts yet: Session Manager writes one when a session ends"
                    + ("" if self.everyone else " (e: show everyone's)")
                )
        if note:
            lines.append(note)
        status = self.query_one("#logs-status", Static)
        status.update(Text("\n".join(lines)))
        status.set_class(bool(problems), "-error")

    @property
    def selected_row(self) -> SessionTranscripts | None:
        table = self.table
        if not table.row_count or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return self._refs.get(str(key))

    @property
    def selected(self) -> TranscriptRef | None:
        """The transcript Enter opens on the highlighted row (CloudWatch first)."""
        row = self.selected_row
        return row.ref() if row is not None else None

    # -- actions -----------------------------------------------------------------------------

    def action_toggle_everyone(self) -> None:
        self.everyone = not self.everyone
        self.action_reload()

    def action_more(self) -> None:
        self.limit += TRANSCRIPT_LIMIT
        self.action_reload()

    def action_search(self) -> None:
        box = self.query_one("#logs-filter", Input)
        box.display = box.can_focus = True
        box.focus()

    @on(Input.Changed, "#logs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter = event.value.strip()
        self._fill()

    @on(Input.Submitted, "#logs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.display = event.input.can_focus = False
        self.table.focus()

    def action_reload(self) -> None:
        if not self.scopes:
            self._update_status("no profile selected")
            return
        self._request += 1
        self._update_status("loading…")
        self.load(self.scopes, self.everyone, self.limit, self._request)

    @work(exclusive=True, group="logs-load", exit_on_error=False)
    async def load(
        self, scopes: tuple[Scope, ...], everyone: bool, limit: int, request: int
    ) -> None:
        load = self._load_listings or Services.of(self.app).transcript_listings
        listings = await load(scopes, everyone, limit)
        self.post_message(self.Loaded(listings, request))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        if message.request == self._request:
            self.show_listings(message.listings)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A failure the service did not turn into a problem: show it, never swallow it."""
        if event.worker.group == "logs-load" and event.state is WorkerState.ERROR:
            event.stop()
            self._update_status(f"listing failed: {event.worker.error}")

    @on(DataTable.RowSelected, "#logs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self, source: str | None = None) -> None:
        row = self.selected_row
        ref = row.ref(source) if row is not None else None
        if ref is not None:
            self.post_message(TranscriptRequested(ref))
