"""`C` on the fleet: which columns the table shows (issue 15). Each change applies at once.

The essential columns (name, status, account, profile) are listed but cannot be turned off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from ssm_tui.ui.fleet_columns import ESSENTIAL, KNOWN, WHO


class ColumnChooser(ModalScreen[None]):
    """A checklist of every column; `apply` gets the new column keys after each change."""

    BINDINGS = [
        Binding("escape,C", "close", "Done", id="columns.close"),
    ]
    DEFAULT_CSS = """
    ColumnChooser { align: center middle; }
    ColumnChooser > Vertical {
        width: 50; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ColumnChooser SelectionList { height: auto; max-height: 20; }
    """

    def __init__(self, columns: Sequence[str], apply: Callable[[Sequence[str]], None]) -> None:
        super().__init__()
        self.columns = tuple(columns)
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Fleet columns (space toggles, Esc closes)")
            choices = []
            for key, column in KNOWN.items():
                title = column.title
                if key == WHO:
                    title += " (also shown while someone is connected)"
                choices.append(
                    Selection(title, key, key in self.columns, id=key, disabled=key in ESSENTIAL)
                )
            yield SelectionList[str](*choices, id="column-choices")

    @on(SelectionList.SelectedChanged, "#column-choices")
    def _changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        chosen = set(event.selection_list.selected)
        kept = [key for key in self.columns if key in chosen or key in ESSENTIAL]
        self.columns = (*kept, *(key for key in KNOWN if key in chosen and key not in kept))
        self.apply(self.columns)

    def action_close(self) -> None:
        self.dismiss(None)
