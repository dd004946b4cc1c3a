"""Broadcast mode: keys typed in one session tab go to every selected tab's pane at once.

Off by default. `B` (on the main screen, after ctrl+] out of a pane) turns it on with every open
interactive tab selected; `b` adds or removes the active tab; `B` again turns it off. While on, a
banner above the sessions names the selected tabs and each selected tab is marked in the tab bar
(`TabBar.set_marked`), so nobody types into several machines without seeing it.

Port-forward tabs are never included: their panes read no keys. A tab whose session ended
receives nothing (its pane has no process). Only what the user types or pastes is fanned out
(`TerminalPane.typed`); the app's own writes, such as a login command, go to their own pane only.
Keys typed in a tab that is not selected stay in that tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from ssm_tui.ui.fleet_model import literal

if TYPE_CHECKING:
    from ssm_tui.ui.screens.main import MainScreen
    from ssm_tui.ui.widgets.session_view import SessionView

BANNER_CLASS = "broadcast-banner"


@dataclass
class BroadcastState:
    """The main screen's broadcast mode: on or off, and the selected session views' ids."""

    on: bool = False
    selected: set[str] = field(default_factory=set)


def state_of(screen: MainScreen) -> BroadcastState:
    state = getattr(screen, "broadcast_state", None)
    if state is None:
        state = BroadcastState()
        screen.broadcast_state = state  # type: ignore[attr-defined]
    return state


def _views(screen: MainScreen) -> list[SessionView]:
    from ssm_tui.ui.widgets.session_view import SessionView

    return list(screen.query(SessionView))


def eligible(view: SessionView) -> bool:
    """Can this tab receive broadcast keys? Interactive, with a pane: never a port forward."""
    return not view.is_port_forward and view.pane is not None


def _tab_id(view_id: str) -> str:
    return "tab-" + view_id.removeprefix("session-")


def toggle(screen: MainScreen) -> None:
    """`B`: on with every interactive tab selected, or off."""
    state = state_of(screen)
    if state.on:
        state.on = False
        state.selected.clear()
        screen.notify("Broadcast off: keys go to one tab.", timeout=3)
    else:
        chosen = {view.id or "" for view in _views(screen) if eligible(view)}
        if len(chosen) < 2:
            screen.notify("Open two shell tabs to broadcast keys to.", timeout=4)
            return
        state.on = True
        state.selected = chosen
    sync(screen)


def toggle_tab(screen: MainScreen) -> None:
    """`b`: the active tab in or out of the selection (broadcast on only)."""
    state = state_of(screen)
    view = screen._active_view()
    if not state.on or view is None:
        return
    view_id = view.id or ""
    if view_id in state.selected:
        state.selected.discard(view_id)
    elif not eligible(view):
        screen.notify("A port-forward tab takes no keys: it is never broadcast to.", timeout=4)
        return
    else:
        state.selected.add(view_id)
    sync(screen)


def forget(screen: MainScreen, view_id: str) -> None:
    """A tab closed: out of the selection."""
    state = getattr(screen, "broadcast_state", None)
    if state is None or view_id not in state.selected:
        return
    state.selected.discard(view_id)
    sync(screen)


def fan_out(screen: MainScreen, source: Any, data: bytes) -> None:
    """Typed `data` in `source` (a pane): every selected pane gets it, or just `source`."""
    state = state_of(screen)
    views = {view.id: view for view in _views(screen)}
    source_view = getattr(source, "parent", None)
    if not state.on or getattr(source_view, "id", None) not in state.selected:
        source.send(data)
        return
    for view_id in sorted(state.selected):
        view = views.get(view_id)
        if view is not None and eligible(view):
            view.pane.send(data)  # type: ignore[union-attr]


def sync(screen: MainScreen) -> None:
    """Hooks on the panes, marks on the tabs and the banner, after any change."""
    state = state_of(screen)
    views = _views(screen)
    state.selected &= {view.id or "" for view in views if eligible(view)}
    for view in views:
        pane = view.pane
        if pane is None:
            continue
        wanted = state.on and (view.id or "") in state.selected

        def typed(data: bytes, pane: Any = pane) -> None:
            fan_out(screen, pane, data)

        pane.typed = typed if wanted else None
    screen.tabs.set_marked(
        frozenset(_tab_id(v) for v in state.selected) if state.on else frozenset()
    )
    _banner(screen, state, views)


def _banner(screen: MainScreen, state: BroadcastState, views: list[SessionView]) -> None:
    """The banner on top of every session tab (the main screen lays out in a row, so a bar of
    its own would take a column): it says who receives the keys wherever one types."""
    if not state.on:
        screen.query(f".{BANNER_CLASS}").remove()
        return
    names = [view for view in views if (view.id or "") in state.selected]
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    line.append(" ⇶ BROADCAST ", style="bold reverse")
    line.append(f" keys typed in a marked tab go to all {len(names)}: ")
    for index, view in enumerate(names):
        if index:
            line.append(", ")
        line.append_text(literal(view.title))
    line.append("  ·  b: this tab in/out  ·  B: off")
    screen.app.use_styles("broadcast")  # type: ignore[attr-defined]
    for view in views:
        found = view.query(f".{BANNER_CLASS}")
        if found:
            found.first(Static).update(line)
        else:
            view.mount(Static(line, classes=BANNER_CLASS, markup=False), before=0)
