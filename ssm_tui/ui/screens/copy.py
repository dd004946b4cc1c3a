"""`y`: copy an instance id, its name, its private IP or the session id, in one key.

What can be copied depends on where the keyboard is: the highlighted fleet row, or the session
tab shown (which adds its session id). Each choice is one key; the text goes to the clipboard
through `ssm_tui.ui.clipboard` (OSC 52 and the system clipboard).
"""

from __future__ import annotations

from typing import NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ssm_tui.aws.models import Instance


class CopyChoice(NamedTuple):
    key: str
    what: str
    value: str


def choices(instance: Instance | None, session_id: str | None = None) -> list[CopyChoice]:
    """What can be copied here, each with its key (values empty for the instance are left out)."""
    found: list[CopyChoice] = []
    if instance is not None:
        found.append(CopyChoice("i", "instance id", instance.instance_id))
        if instance.ip_address:
            found.append(CopyChoice("a", "private IP address", instance.ip_address))
        if instance.name:
            found.append(CopyChoice("n", "name", instance.name))
    if session_id:
        found.append(CopyChoice("s", "session id", session_id))
    return found


class CopyMenu(ModalScreen[CopyChoice | None]):
    """One key per value; dismisses with the chosen one (None: Escape)."""

    CSS_PATH = "../styles/confirm.tcss"
    BINDINGS = [Binding("escape,q", "pick('')", "Cancel", id="copy.cancel")]

    def __init__(self, found: list[CopyChoice]) -> None:
        super().__init__()
        self.found = found
        for choice in found:
            self._bindings.bind(choice.key, f"pick({choice.key!r})", choice.what, show=False)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        for choice in self.found:
            table.add_row(Text(choice.key, style="bold"), choice.what, Text(choice.value))
        with Vertical(id="confirm"):
            yield Static(Text("Copy to the clipboard", style="bold"), id="confirm-question")
            yield Static(table, id="confirm-detail")
            yield Static(Text.assemble(("Esc", "bold"), ": cancel"), id="confirm-keys")

    def action_pick(self, key: str) -> None:
        self.dismiss(next((c for c in self.found if c.key == key), None))


def open_copy_menu(screen: object) -> None:
    """`y` on the main screen: the session tab shown, else the highlighted fleet row."""
    view = screen._active_view()  # type: ignore[attr-defined]
    if view is not None:
        started = view.started
        found = choices(view.instance, started.session_id if started is not None else None)
    else:
        fleet = screen.fleet  # type: ignore[attr-defined]
        row = fleet.model.rows.get(fleet.table.cursor_key)
        found = choices(row.instance if row is not None else None)
    app = screen.app  # type: ignore[attr-defined]
    if not found:
        app.notify("Nothing to copy here.", timeout=3)
        return

    async def copy_it(choice: CopyChoice) -> None:
        from ssm_tui.ui.clipboard import copy

        where = await copy(app, choice.value)
        app.notify(f"Copied the {choice.what} {choice.value} to the {where}.", timeout=4,
                   markup=False)  # fmt: skip

    def picked(choice: CopyChoice | None) -> None:
        if choice is not None:
            screen.run_worker(copy_it(choice), group="copy", exit_on_error=False)  # type: ignore[attr-defined]

    app.push_screen(CopyMenu(found), picked)
