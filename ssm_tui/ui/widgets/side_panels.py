"""Wiring of the history and logs side panels into the fleet screen (`MainScreen`).

The screen keeps a `#side` column (`side_column`) and `mount_side_panel`; this module decides
what goes in it so the screen's own code stays three lines: `h` / `l` toggle a panel, and the
highlighted fleet row tells the history panel which instance to show (debounced, so scrolling
the fleet does not fire a DescribeSessions per row).
"""

from __future__ import annotations

from typing import Any

from ssm_tui.ui.widgets.history_panel import HistoryPanel
from ssm_tui.ui.widgets.logs_panel import LogsPanel

FOLLOW_DELAY = 0.3
"""Seconds the fleet cursor must rest on a row before the history panel loads it."""


async def toggle_side_panel(screen: Any, kind: str) -> None:
    """Open the `kind` ('history' or 'logs') panel beside the fleet, or close it if open."""
    side = await screen.side_column()
    panel_type = HistoryPanel if kind == "history" else LogsPanel
    open_panels = side.query(panel_type)
    if open_panels:
        await open_panels.remove()
        screen.sync_side()
        return
    scopes = list(screen.fleet.scopes)
    if kind == "history":
        services = screen.services
        store = services.get_store() if hasattr(services, "get_store") else None
        history = HistoryPanel(
            store=store,
            load_history=lambda scopes, target: services.history(scopes, target, store),
            id="history-panel",
        )
        await screen.mount_side_panel(history)
        row = _highlighted(screen)
        if row is None:
            history.show_all = True
            history.show_for(scopes, None, all_scopes=scopes)
        else:
            history.show_for(sorted(row.scopes), row.instance.instance_id, all_scopes=scopes)
    else:
        logs = LogsPanel(load_listings=screen.services.transcript_listings, id="logs-panel")
        await screen.mount_side_panel(logs)
        logs.show_for(scopes)


def follow_selection(screen: Any, row: Any) -> None:
    """The fleet cursor moved to `row` (a `FleetRow` or None): the history panel follows it."""
    if row is None:
        return
    for panel in screen.query(HistoryPanel):
        if panel.target != row.instance.instance_id:
            scopes = list(screen.fleet.scopes)
            panel.show_for(
                sorted(row.scopes), row.instance.instance_id, all_scopes=scopes, delay=FOLLOW_DELAY
            )


def _highlighted(screen: Any) -> Any:
    """The `FleetRow` under the fleet cursor, or None."""
    return screen.fleet.table.cursor_row
