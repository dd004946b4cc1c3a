"""Command palette providers (`ctrl+p`): profiles/accounts, instances, sessions.

Names are namespaced ("profile: prod", "account: acme-prod", "connect: web-1", "session: db-2")
so one palette search reaches every verb. AWS text is highlighted without being parsed as markup
(Textual's `Matcher.highlight` parses its input as markup, so we stylize a plain `Content`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from ssm_tui.ui.services import DocumentChoice, ScopeChoice

if TYPE_CHECKING:
    from ssm_tui.ui.screens.main import MainScreen

MAX_INSTANCE_HITS = 50


def literal_highlight(matcher: Matcher, text: str) -> Content:
    """`text` as plain content with the fuzzy-matched letters highlighted."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if score:
        for offset in offsets:
            if not text[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class _MainScreenProvider(Provider):
    """Base: finds the main screen under the palette (None while another screen is up)."""

    def main(self) -> MainScreen | None:
        from ssm_tui.ui.screens.main import MainScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        return []

    async def discover(self) -> Hits:
        for name, callback, help_text in self.entries()[:20]:
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, literal_highlight(matcher, name), callback, text=name, help=help_text
                )


class ScopeCommands(_MainScreenProvider):
    """ "profile: X", "account: Y (all its profiles)", "profiles: all", "pick…"."""

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        main = self.main()
        if main is None:
            return []
        out: list[tuple[str, Callable[[], object], str]] = [
            (
                "profiles: all",
                partial(main.apply_scope, ScopeChoice(tuple(p.name for p in main.profiles))),
                "Show every profile of the AWS config",
            ),  # fmt: skip
            ("profiles: pick…", main.action_pick, "Open the profile/account/region picker"),
        ]
        by_account: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        for row in main.fleet.model.rows.values():
            instance = row.instance
            if instance.account_id:
                labels.setdefault(
                    instance.account_id, instance.account_label or instance.account_id
                )
        for profile in main.profiles:
            out.append((f"profile: {profile.name}",
                        partial(main.apply_scope, ScopeChoice((profile.name,))),
                        f"Show only profile {profile.name}"))  # fmt: skip
            if profile.account_id:
                by_account.setdefault(profile.account_id, []).append(profile.name)
        for account_id, names in sorted(by_account.items()):
            label = labels.get(account_id, account_id)
            out.append((f"account: {label} ({account_id})",
                        partial(main.apply_scope, ScopeChoice(tuple(names))),
                        f"Every profile of this account: {', '.join(names)}"))  # fmt: skip
        return out


class InstanceCommands(_MainScreenProvider):
    """ "connect: name id (account)" for every instance in the selected scopes."""

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        main = self.main()
        if main is None:
            return []
        model = main.fleet.model
        out: list[tuple[str, Callable[[], object], str]] = []
        for row in model.rows.values():  # one per node, however many profiles reach it
            if model.scopes is not None and row.scopes.isdisjoint(model.scopes):
                continue
            i = row.instance
            name = f"connect: {i.name} {i.instance_id} ({i.account_label or i.profile}, {i.region})"
            via = f"{i.ping_status} · via {i.profile}"
            if len(row.views) > 1:
                via += f" (also {', '.join(p for p in row.profiles if p != i.profile)})"
            out.append((name, partial(main.open_session, i, DocumentChoice()), via))
        return out

    async def discover(self) -> Hits:
        return
        yield  # pragma: no cover - instances only on search, never in the idle list

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        count = 0
        async for hit in super().search(query):
            yield hit
            count += 1
            if count >= MAX_INSTANCE_HITS:
                return


class SessionCommands(_MainScreenProvider):
    """ "session: title" to switch tabs, plus close / split verbs."""

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        from ssm_tui.ui.widgets.session_view import SessionView

        main = self.main()
        if main is None:
            return []
        out: list[tuple[str, Callable[[], object], str]] = []
        for view in main.query(SessionView):
            tab_id = "tab-" + (view.id or "").removeprefix("session-")

            def activate(tab_id: str = tab_id) -> None:
                main.tabs.active = tab_id

            out.append(
                (f"session: {view.title} ({view.state})", activate, view.instance.instance_id)
            )
        if out:
            out.append(("session: close current tab", main.action_close_tab, "ctrl+w"))
            out.append(("session: split view on/off", main.action_toggle_split, "v"))
            out.append(("session: broadcast keys on/off", main.action_broadcast, "B"))
        # issue 16: the named port forwards and RDP to the highlighted Windows row
        out.append(("forwards: named port forwards…", main.action_forwards, "F"))
        out.append(("rdp: highlighted Windows instance", main.action_rdp, "R"))
        return out
