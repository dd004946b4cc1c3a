"""Palette commands (`ctrl+p`) for the fleet's columns and row marks (issues 15 and 16).

"columns: show AMI", "columns: hide Agent", "columns: choose…", "marks: mark every shown row",
"marks: clear". Kept apart from `ui.commands` so the fleet's verbs live beside its keys.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ssm_tui.ui.commands import _MainScreenProvider
from ssm_tui.ui.fleet_columns import ESSENTIAL, KNOWN


class FleetCommands(_MainScreenProvider):
    """Column toggles and marks of the fleet under the palette."""

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        main = self.main()
        if main is None:
            return []
        fleet = main.fleet
        out: list[tuple[str, Callable[[], object], str]] = [
            ("columns: choose…", fleet.action_columns, "C: every column, on and off"),
        ]
        for key, column in KNOWN.items():
            if key in ESSENTIAL:
                continue
            verb = "hide" if key in fleet.columns else "show"
            out.append(
                (f"columns: {verb} {column.title}", partial(fleet.toggle_column, key),
                 f"Turn the {column.title} column {'off' if verb == 'hide' else 'on'}")
            )  # fmt: skip
        out.append(("marks: mark every shown row", fleet.action_mark_shown, "*"))
        if fleet.marked:
            out.append(
                (f"marks: clear ({len(fleet.marked)} marked)", fleet.action_clear_marks, "u")
            )
        return out
