"""The help screen (`?`): every key of the screen underneath, grouped, plus the filter language.

Built from the live bindings (`Screen.active_bindings` of the screen it covers), so it can never
disagree with the footer or the command palette.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FILTER_HELP = (
    ("web", "name, id, tag, IP, account… contains 'web' (or fuzzy name/id match)"),
    ("tag:Env=prod", "tag Env's value contains 'prod'  (tag:Env: has the tag)"),
    ("status:online", "ping status (also shows offline ones: online-only is off)"),
    ("account:prod", "account alias, profile or id contains 'prod'"),
    ("region:eu profile:dev", "region, profile, platform:, id:, name: likewise"),
    ("!windows", "a leading ! negates a term"),
)

TERMINAL_HELP = (
    ("ctrl+]", "in a session: give the keyboard back to the app (then tab keys work)"),
    ("ctrl+] ctrl+q", "quit from a session (ctrl+p and ctrl+q alone go to the session)"),
    ("ctrl+pageup/down", "previous/next tab, even from inside a session"),
    ("Enter or i", "on the tab bar (after ctrl+]): back into the session's terminal"),
    ("alt+1…9", "jump to tab N outside a session (1 is the fleet)"),
    ("ctrl+w, ctrl+q", "ask first while a session is live: y, Enter or the same key again"),
    ("y", "copy the instance id, private IP, name or session id"),
)


class HelpScreen(ModalScreen[None]):
    """Keys of the screen below and the filter syntax; any of escape/q/? closes it."""

    CSS_PATH = "../styles/help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static("ssm-tui keys", id="help-title")
            yield Static(self._keys_table(), id="help-keys")
            sections = getattr(self.below, "HELP_SECTIONS", None)  # a screen's own (viewer)
            if sections is None:
                yield Static(self._pairs_table("Filter (/)", FILTER_HELP), id="help-filter")
                yield Static(self._pairs_table("Sessions", TERMINAL_HELP), id="help-terminal")
            for title, rows in sections or ():
                yield Static(self._pairs_table(title, rows), classes="help-section")

    def _keys_table(self) -> Table:
        """One row per action; its keys joined (↑ k), favourites folded into one row."""
        table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        rows: dict[tuple[str, str], tuple[list[str], str]] = {}
        for active in self.below.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.system or not binding.id:
                continue  # Textual's own scroll/focus keys stay out: ours all carry an id
            if binding.action.startswith("favourite("):
                rows.setdefault(
                    ("favourite", ""), (["1…9", "0"], "Show favourite profile N; 0 all")
                )
                continue
            if binding.action.startswith("tab("):
                rows.setdefault(("tab", ""), (["alt+1…9"], "Jump to tab N (1 is the fleet)"))
                continue
            keys, tooltip = rows.setdefault(
                (binding.action, binding.description), ([], binding.tooltip or "")
            )
            label = self.app.get_key_display(binding)
            if label not in keys:
                keys.append(label)
        for (_action, description), (keys, tooltip) in rows.items():
            text = Text(description or tooltip)
            if description and tooltip:
                text.append(f"  {tooltip}", style="dim")
            table.add_row(Text(" ".join(keys)), text)
        return table

    @staticmethod
    def _pairs_table(title: str, rows: tuple[tuple[str, str], ...]) -> Table:
        table = Table(title=title, box=None, show_header=False, padding=(0, 2), expand=True)
        table.title_justify = "left"
        table.title_style = "bold"
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in rows:
            table.add_row(Text(key), Text(description))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
