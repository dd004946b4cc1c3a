"""The history side panel: sessions of the selected instance (or of all), from AWS and local.

A self-contained feature block the fleet screen mounts: it runs its own worker over a loader
the host gives it (`Services.history`: `fetch_history` on the AWS loop, all pages, every scope
concurrently, one failing profile shown as an error line under the rows that did load). Enter
on a row posts `TranscriptRequested`; the screen opens the viewer (widgets never push screens).

Host API: `panel.show_for(scopes, target)` when the selection changes; `a` toggles between the
selected instance and every instance; `r` reloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from ssm_tui.aws.models import Scope
from ssm_tui.aws.models.history import HistoryResult, SessionSummary, others_connected
from ssm_tui.services import Services
from ssm_tui.term.transcript import visible_line as _symbols
from ssm_tui.text import printable
from ssm_tui.timefmt import format_time, zone_label
from ssm_tui.ui.messages import TranscriptRequested

HistoryLoader = Callable[[Sequence[Scope], "str | None"], Awaitable[HistoryResult]]
"""(scopes, target or None for every instance) -> the history (`Services.history`)."""

FOLLOW_DELAY = 0.5
"""Seconds after one of the app's sessions opened before the panel asks AWS again."""
COLUMNS = (
    "Start", "Duration", "Target", "Status", "Document", "Session", "Owner", "Run As", "Reason",
    "Log", "Src",
)  # fmt: skip
SHELL_DOCUMENT = "SSM-SessionManagerRunShell"


def duration(start: datetime | None, end: datetime | None, active: bool) -> str:
    """ "1h02m", "3m05s", "12s"; "running" while active (a count would go stale in a table)."""
    if end is None:
        return "running" if active else ""
    if start is None:
        return ""
    seconds = int((end - start).total_seconds())
    if seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def visible_line(value: str) -> str:
    """AWS text for a cell: controls as symbols, bidi/format characters escaped (`ssm_tui.text`)."""
    return printable(_symbols(value))


def when(value: datetime | None) -> str:
    """To the second, in the one zone every view uses (`ssm_tui.timefmt`; the header names it)."""
    return format_time(value)


def row_cells(s: SessionSummary) -> list[Text]:
    """One table row: literal `Text`, control characters as symbols (reasons are user text)."""
    log = "CloudWatch+S3" if s.cloudwatch_output and s.s3_output else (
        "CloudWatch" if s.cloudwatch_output else ("S3" if s.s3_output else "")
    )  # fmt: skip
    status = s.status
    if s.exit_status is not None:
        status += f" ({s.exit_status})"
    document = "shell" if s.document in ("", SHELL_DOCUMENT) else s.document
    return [
        Text(when(s.start)),
        Text(duration(s.start, s.end, s.active), justify="right"),
        Text(visible_line(s.target)),
        Text(status, style="bold" if s.active else ""),
        Text(visible_line(document)),
        Text(visible_line(s.session_id)),
        Text(visible_line(s.owner_name or s.profile)),
        Text(visible_line(s.run_as_text)),  # and where it is known from; "—" when nothing says
        Text(visible_line(s.reason)),
        Text(log),
        Text(s.source),
    ]


class HistoryPanel(Vertical, can_focus=False):
    """Session history for one instance or all, with errors shown beside the rows."""

    BINDINGS = [
        Binding("a", "toggle_all", "All/this", id="history.all", tooltip="This instance or all"),
        Binding("r", "reload", "Reload", id="history.reload", tooltip="Ask AWS again"),
        Binding("enter", "open", "Transcript", id="history.open", tooltip="Open the transcript"),
    ]

    @dataclass
    class Loaded(Message):
        """A history fetch finished (posted by the panel's worker to the panel)."""

        result: HistoryResult
        request: int

    def __init__(
        self,
        *,
        store: Any = None,
        load_history: HistoryLoader | None = None,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.store = store
        """`ssm_tui.store.Store` (its local record joins the AWS rows), or None."""
        self._load_history = load_history
        """None: the app's services object (`app.services.history`) with `store`."""
        self.scopes: tuple[Scope, ...] = ()
        self.all_scopes: tuple[Scope, ...] = ()
        self.target: str | None = None
        self._pending: Timer | None = None
        self.show_all = False
        self.result = HistoryResult()
        self._request = 0
        self._sessions: dict[str, SessionSummary] = {}

    def compose(self) -> ComposeResult:
        yield Static("History", id="history-title", markup=False)
        table: DataTable[Text] = DataTable(id="history-table", cursor_type="row")
        table.add_columns(f"{COLUMNS[0]} ({zone_label()})", *COLUMNS[1:])
        yield table
        yield Static("", id="history-status", markup=False)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#history-table", DataTable)

    def show_for(
        self,
        scopes: Sequence[Scope],
        target: str | None,
        *,
        all_scopes: Sequence[Scope] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Show the history of `target` (None: every instance) over `scopes`, and load it.

        `all_scopes` are asked instead when the user toggles to every instance (`a`); `delay`
        debounces a cursor running down the fleet (only the row it stops on is loaded).
        """
        self.scopes = tuple(scopes)
        self.all_scopes = tuple(all_scopes) if all_scopes is not None else self.scopes
        self.target = target
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        if delay > 0:
            self._pending = self.set_timer(delay, self.action_reload)
        else:
            self.action_reload()

    def show_result(self, result: HistoryResult) -> None:
        """Fill the table from a result (the worker's, or a prepared one in tests)."""
        self.result = result
        table = self.table
        previous = self.selected
        table.clear()
        self._sessions = {s.session_id: s for s in result.sessions}
        for session in result.sessions:
            table.add_row(*row_cells(session), key=session.session_id)
        if previous is not None and previous.session_id in self._sessions:
            table.move_cursor(row=table.get_row_index(previous.session_id))
        self._update_title()
        self._update_status()

    def _update_title(self) -> None:
        where = "all instances" if self.show_all or not self.target else self.target
        count = len(self.result.sessions)
        active = sum(1 for s in self.result.sessions if s.active)
        title = Text(f"History · {where} · {count} sessions, {active} active", no_wrap=True)
        if self.target and not self.show_all:
            me = [arn for _, arn in self.result.callers]
            others = others_connected(self.result.sessions, self.target, me)
            if others:
                names = ", ".join(sorted({s.owner_name or "?" for s in others}))
                title.append(f" · connected now: {visible_line(names)}", style="bold")
        self.query_one("#history-title", Static).update(title)

    def _update_status(self, note: str = "") -> None:
        lines: list[str] = []
        for err in self.result.errors:
            hint = f" → {err.hint}" if err.hint else ""
            lines.append(f"{err.profile} {err.region or ''}: {err.message}{hint}")
        if not self.result.sessions and not self.result.errors and not note:
            lines.append("no sessions in the last 30 days" if self._request else "")
        if note:
            lines.append(note)
        status = self.query_one("#history-status", Static)
        status.update(Text("\n".join(line for line in lines if line)))
        status.set_class(bool(self.result.errors), "-error")

    def session_ended(self, session_id: str, exit_status: int | None) -> None:
        """One of the app's own sessions ended: its row says so now, not at the next `r`.

        The app knows before AWS does (the plugin exited, TerminateSession is under way); the
        row becomes `Terminated` with its end time, and the next reload brings AWS's word.
        """
        summary = self._sessions.get(session_id)
        if summary is None or not summary.active:
            return
        ended = summary._replace(
            status="Terminated",
            end=datetime.now(UTC),
            exit_status=summary.exit_status if exit_status is None else exit_status,
        )
        sessions = tuple(ended if s.session_id == session_id else s for s in self.result.sessions)
        self.show_result(self.result._replace(sessions=sessions))

    def session_started(self) -> None:
        """One of the app's own sessions opened: reload soon, so its row appears."""
        if self.scopes and self._request:
            if self._pending is not None:
                self._pending.stop()
            self._pending = self.set_timer(FOLLOW_DELAY, self.action_reload)

    @property
    def selected(self) -> SessionSummary | None:
        table = self.table
        if not table.row_count or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return self._sessions.get(str(key))

    # -- actions -----------------------------------------------------------------------------

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.action_reload()

    def action_reload(self) -> None:
        if not self.scopes:
            self._update_status("no profile selected")
            return
        self._request += 1
        self._update_title()
        self._update_status("loading…")
        self._pending = None
        target = None if self.show_all else self.target
        scopes = (self.all_scopes or self.scopes) if self.show_all else self.scopes
        self.load(scopes, target, self._request)

    @work(exclusive=True, group="history-load", exit_on_error=False)
    async def load(self, scopes: tuple[Scope, ...], target: str | None, request: int) -> None:
        if self._load_history is not None:
            result = await self._load_history(scopes, target)
        else:
            result = await Services.of(self.app).history(scopes, target, self.store)
        self.post_message(self.Loaded(result, request))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        if message.request == self._request:
            self.show_result(message.result)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A failure the service did not turn into an error row: show it, never swallow it."""
        if event.worker.group == "history-load" and event.state is WorkerState.ERROR:
            event.stop()
            self._update_status(f"history failed: {event.worker.error}")

    @on(DataTable.RowSelected, "#history-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Ask for the selected session's transcript (CloudWatch first, else S3)."""
        session = self.selected
        if session is None:
            return
        if not session.profile or not session.region:
            self._update_status("this local session has no profile/region to read its logs with")
            return
        self.post_message(
            TranscriptRequested(
                session_id=session.session_id, profile=session.profile, region=session.region
            )
        )
