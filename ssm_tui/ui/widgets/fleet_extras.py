"""The fleet's row marks, column choice and who-is-connected: a base class of `FleetView`.

- Marks (issue 16): `space` marks or unmarks the highlighted row and moves down, `*` marks every
  row the view shows, `u` clears the marks; `x` then runs a command on the marked rows. Marks
  are node keys, so they survive refreshes and filter changes.
- Columns (issue 15): `C` opens the column chooser; the palette toggles one column; the choice
  is remembered (`ui.fleet_columns.load_columns`).
- Who is connected (issues 15/17): after each inventory refresh, DescribeSessions State=Active of
  every shown scope, on the AWS loop through the services object; the row shows who (a
  Connected column) and the detail panel lists them with their start times. A scope AWS does
  not answer (denied, throttled) keeps its last answer and never hides a row.

Kept out of `fleet_view.py` so the fleet pane stays about the inventory; Textual merges these
bindings with the view's (`DOMNode._merge_bindings` walks the classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

from ssm_tui.aws.models import Scope, ScopeError
from ssm_tui.ui import fleet_columns
from ssm_tui.ui.fleet_columns import KNOWN, who_text


class FleetExtras(Widget):
    """Marks, columns and who is connected, for the fleet pane (see the module docstring)."""

    BINDINGS = [
        Binding(
            "space",
            "mark",
            "Mark",
            show=False,
            id="fleet.mark",
            tooltip="Mark or unmark the highlighted row (x runs on the marked rows)",
        ),
        Binding("asterisk", "mark_shown", "Mark all shown", show=False, id="fleet.mark_shown"),
        Binding("u", "clear_marks", "Clear marks", show=False, id="fleet.clear_marks"),
        Binding(
            "C",
            "columns",
            "Columns",
            show=False,
            id="fleet.columns",
            tooltip="Choose the fleet's columns",
        ),
    ]

    # what `FleetView` provides
    table: Any
    model: Any
    services: Any
    scopes: list[Scope]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connected: dict[str, tuple[Any, ...]] = {}
        """Node key -> its Active sessions (`aws.active.Connected`), from AWS."""
        self.who_errors: dict[Scope, ScopeError] = {}
        """Scopes whose last DescribeSessions failed (their last answer is kept)."""
        self._who_by_scope: dict[Scope, tuple[Any, ...]] = {}
        self._columns_setting: tuple[str, ...] = ()
        self._remember_columns = False

    def redraw(self, changed: set[str] | None = None) -> None:  # FleetView's
        raise NotImplementedError

    # -- marks -----------------------------------------------------------------------------
    @property
    def marked(self) -> set[str]:
        return self.table.extras.marked

    def marked_rows(self) -> list[Any]:
        """The marked rows the fleet still has, in the view's order, then the hidden ones."""
        shown = [k for k in self.table.visible_keys() if k in self.marked]
        hidden = sorted(self.marked - set(shown))
        return [row for key in (*shown, *hidden) if (row := self.model.rows.get(key)) is not None]

    def action_mark(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self.table.action_cursor(1)
        self.table.refresh()
        self._draw_status()

    def action_mark_shown(self) -> None:
        self.marked.update(self.table.visible_keys())
        self.table.refresh()
        self._draw_status()

    def action_clear_marks(self) -> None:
        self.marked.clear()
        self.table.refresh()
        self._draw_status()

    def _draw_status(self) -> None:  # FleetView's
        raise NotImplementedError

    def describe_marks(self, line: Text) -> None:
        """The status line's word on marks (how many, and that `x` runs on them)."""
        count = sum(1 for key in self.marked if key in self.model.rows)  # gone rows: not counted
        if count:
            line.append("  ·  ")
            line.append(f"{count} marked", style="bold")
            line.append(" (x runs on them, u clears)")

    # -- columns ---------------------------------------------------------------------------
    def use_columns(self, settings: Any) -> None:
        """The columns of the `columns` setting, or the ones chosen last time in the app."""
        self._columns_setting = tuple(getattr(settings, "columns", ()) or ())
        self._remember_columns = bool(getattr(settings, "remember_selection", True))
        columns, unknown = fleet_columns.load_columns(self._columns_setting, self._remember_columns)
        if unknown:
            known = ", ".join(KNOWN)
            self.notify(
                f"Unknown column(s) in the settings: {', '.join(unknown)}. Known: {known}.",
                title="Settings",
                severity="warning",
                timeout=12,
                markup=False,
            )
        self.set_columns(columns, save=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.table.extras.wanted

    def set_columns(self, columns: Sequence[str], save: bool = True) -> None:
        columns = fleet_columns.with_essentials(columns)
        if columns == self.table.extras.wanted:
            return
        self.table.extras.wanted = columns
        self.redraw()
        if save and self._remember_columns:
            fleet_columns.save_columns(columns, self._columns_setting)

    def toggle_column(self, key: str) -> None:
        self.set_columns(fleet_columns.toggled(self.columns, key))

    def action_columns(self) -> None:
        from ssm_tui.ui.screens.columns import ColumnChooser

        self.app.push_screen(ColumnChooser(self.columns, self.set_columns))

    # -- who is connected ------------------------------------------------------------------
    async def ask_who(self, scopes: Sequence[Scope]) -> None:
        """DescribeSessions Active of `scopes` (on the AWS loop), then the rows that changed."""
        if not scopes or not getattr(self.services, "active_lookup", True):
            return
        try:
            results = await self.services.active_sessions(list(scopes))
        except Exception:  # noqa: BLE001 - who is connected is never worth the rows
            return
        for result in results:
            if result.error is not None:
                self.who_errors[result.scope] = result.error
            else:
                self.who_errors.pop(result.scope, None)
                self._who_by_scope[result.scope] = result.sessions
        self.show_who()

    def show_who(self) -> None:
        """Map every shown scope's sessions to its rows and redraw the rows that changed."""
        connected: dict[str, dict[str, Any]] = {}
        for scope in self.scopes:
            sessions = self._who_by_scope.get(scope, ())
            if not sessions:
                continue
            nodes = {i.instance_id: node for node, i in self.model._by_scope.get(scope, {}).items()}
            for session in sessions:
                node = nodes.get(session.target)
                if node is not None:
                    connected.setdefault(node, {})[session.session_id] = session
        self.connected = {node: tuple(found.values()) for node, found in connected.items()}
        who = {
            node: who_text([s.person for s in sessions])
            for node, sessions in self.connected.items()
        }
        old = self.table.extras.who
        changed = {k for k in old.keys() | who.keys() if old.get(k) != who.get(k)}
        if not changed:
            return
        self.table.extras.who = who
        self.redraw(changed)
        for panel in self.screen.query("InstanceDetail"):  # by name: imported when opened
            panel.show(self.table.cursor_row, self.model.reach)  # type: ignore[attr-defined]
