"""`c` on a node that several profiles reach: pick the profile, then the document.

Best profile first (as Enter would choose it); a profile AWS denied on this instance says so.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ssm_tui.aws.models import Instance
from ssm_tui.nodes import Reach, is_denied, ranked
from ssm_tui.ui.fleet_model import FleetRow


class ProfileChoice(ModalScreen[Instance | None]):
    """Which of the node's profiles to connect with; dismisses with that profile's view."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="profile_choice.cancel")]
    DEFAULT_CSS = """
    ProfileChoice { align: center middle; }
    ProfileChoice > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ProfileChoice OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, row: FleetRow, reach: Reach) -> None:
        super().__init__()
        self.views = ranked(row.views, reach)
        self.reach = reach
        self.title_text = f"Connect to {row.instance.name} with profile…"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text), markup=False)
            options = []
            for view in self.views:
                line = Text(view.profile)
                if is_denied(self.reach, view):
                    line.append("  denied by AWS on this instance", style="red")
                options.append(Option(line, id=view.profile))
            yield OptionList(*options, id="profile-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.views[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
