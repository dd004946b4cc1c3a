"""The profile / account / region picker (`p`): fuzzy search, accounts grouped, multi-select.

Each account is a selectable header: ticking it ticks every profile reaching that account, which
is how "all of prod" is one keystroke. Regions form their own group; with none ticked each profile
uses its own region(s). The result replaces the fleet's scopes without a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from ssm_tui.aws.models import Account, Profile, ProfileKind
from ssm_tui.ui.fleet_model import literal
from ssm_tui.ui.services import ScopeChoice

AccountsLoader = Callable[[], Awaitable[tuple[Sequence[Account], Sequence[object]]]]
"""SSO discovery then grouping, on the AWS thread: (accounts, errors)."""


def fuzzy_match(query: str, text: str) -> bool:
    """Every query letter appears in `text` in order (case-insensitive)."""
    text = text.lower()
    position = 0
    for char in query.lower():
        if char == " ":
            continue
        position = text.find(char, position)
        if position < 0:
            return False
        position += 1
    return True


def group_profiles(
    profiles: list[Profile], accounts: list[Account]
) -> list[tuple[str, str, list[str]]]:
    """(account id, label, profile names) groups; profiles of no known account go last."""
    groups: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()
    known = {p.name for p in profiles}
    for account in accounts:
        names = [n for n in account.profiles if n in known]
        if names:
            groups.append((account.account_id, account.label, names))
            seen.update(names)
    by_id: dict[str, list[str]] = {}
    for profile in profiles:
        if profile.name not in seen:
            by_id.setdefault(profile.account_id or "", []).append(profile.name)
    for account_id, names in sorted(by_id.items(), key=lambda kv: (kv[0] == "", kv[0])):
        groups.append((account_id, account_id or "account not resolved yet", names))
    return groups


class ScopePicker(ModalScreen[ScopeChoice | None]):
    """Pick profiles (by account) and regions; Enter applies, Escape cancels."""

    CSS_PATH = "../styles/picker.tcss"
    BINDING_GROUP_TITLE = "Picker"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("enter", "apply", "Apply", id="picker.apply", priority=True),
        Binding(
            "ctrl+a",
            "select_all",
            "All",
            id="picker.all",
            tooltip="Tick every profile",
            priority=True,
        ),  # fmt: skip
        Binding(
            "ctrl+u",
            "select_none",
            "None",
            id="picker.none",
            tooltip="Untick everything",
            priority=True,
        ),  # fmt: skip
        Binding("down", "to_list", "List", show=False),
    ]

    def __init__(
        self,
        profiles: list[Profile],
        accounts: list[Account],
        selected: tuple[str, ...],
        regions: tuple[str, ...],
        known_regions: list[str],
        load_accounts: AccountsLoader | None = None,
    ) -> None:
        super().__init__()
        self.profiles = profiles
        self.accounts = accounts
        self.chosen: set[str] = {f"profile:{name}" for name in selected}
        self.chosen |= {f"region:{region}" for region in regions}
        self.known_regions = sorted(set(known_regions) | set(regions))
        self._load_accounts = load_accounts

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Profiles, accounts and regions", id="picker-title")
            yield Input(placeholder="type to search (fuzzy)", id="picker-search")
            yield SelectionList[str](id="picker-list")
            yield Static(
                "space: tick · ticking an account ticks its profiles · enter: apply · esc: cancel",
                id="picker-help",
                markup=False,
            )

    def on_mount(self) -> None:
        self._rebuild("")
        if self._load_accounts is not None:
            self._resolve_accounts()

    @work(exclusive=True, group="picker-accounts", exit_on_error=False, description="accounts")
    async def _resolve_accounts(self) -> None:
        load = self._load_accounts
        if load is None:
            return
        accounts, _errors = await load()
        self.accounts = list(accounts)
        known = {p.name for p in self.profiles}
        for account in self.accounts:
            for name in account.profiles:
                if name not in known:
                    self.profiles.append(
                        Profile(
                            name, ProfileKind.SSO, account_id=account.account_id, discovered=True
                        )
                    )
                    known.add(name)
        self._rebuild(self.query_one("#picker-search", Input).value)

    def _groups(self) -> list[tuple[str, str, list[str]]]:
        return group_profiles(self.profiles, self.accounts)

    def _rebuild(self, query: str) -> None:
        options: list[Selection[str]] = []
        for account_id, label, names in self._groups():
            header_text = f"{label} {account_id}"
            matching = [n for n in names if fuzzy_match(query, f"{n} {header_text}")]
            if not matching:
                continue
            value = f"account:{account_id}"
            ticked = all(f"profile:{n}" in self.chosen for n in names)
            prompt = Text("▸ ", style="bold")
            prompt.append_text(literal(label))
            prompt.stylize("bold")
            if account_id and account_id != label:
                prompt.append(f"  {account_id}", style="dim")
            options.append(Selection(prompt, value, ticked))
            for name in matching:
                value = f"profile:{name}"
                options.append(Selection(Text("    ") + literal(name), value, value in self.chosen))
        regions = [r for r in self.known_regions if fuzzy_match(query, f"region {r}")]
        if regions:
            options.append(
                Selection(
                    Text("▸ Regions (none ticked: each profile's own)", style="bold"),
                    "regions",
                    False,
                    disabled=True,
                )  # fmt: skip
            )
            for region in regions:
                value = f"region:{region}"
                options.append(Selection(Text(f"    {region}"), value, value in self.chosen))
        selection_list = self.query_one("#picker-list", SelectionList)
        with self.app.batch_update():
            selection_list.clear_options()
            selection_list.add_options(options)

    @on(Input.Changed, "#picker-search")
    def _search(self, event: Input.Changed) -> None:
        self._rebuild(event.value)

    @on(SelectionList.SelectionToggled, "#picker-list")
    def _toggled(self, event: SelectionList.SelectionToggled) -> None:
        value = str(event.selection.value)
        selection_list = event.selection_list
        on_now = value in selection_list.selected
        if value.startswith("account:"):
            account_id = value.removeprefix("account:")
            names = next((n for a, _, n in self._groups() if a == account_id), [])
            for name in names:
                profile_value = f"profile:{name}"
                if on_now:
                    self.chosen.add(profile_value)
                    selection_list.select(profile_value)
                else:
                    self.chosen.discard(profile_value)
                    selection_list.deselect(profile_value)
        elif on_now:
            self.chosen.add(value)
        else:
            self.chosen.discard(value)

    def action_to_list(self) -> None:
        selection_list = self.query_one("#picker-list", SelectionList)
        if selection_list.highlighted is None and selection_list.option_count:
            selection_list.highlighted = 0
        selection_list.focus()

    def action_select_all(self) -> None:
        self.chosen |= {f"profile:{p.name}" for p in self.profiles}
        self._rebuild(self.query_one("#picker-search", Input).value)

    def action_select_none(self) -> None:
        self.chosen.clear()
        self._rebuild(self.query_one("#picker-search", Input).value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_apply(self) -> None:
        profiles = tuple(p.name for p in self.profiles if f"profile:{p.name}" in self.chosen)
        if not profiles:
            self.notify("Tick at least one profile (space).", severity="warning")
            return
        regions = tuple(r for r in self.known_regions if f"region:{r}" in self.chosen)
        self.dismiss(ScopeChoice(profiles, regions))
