"""The forwards screen (`F`, or "forwards" in the palette): the named port forwards, live.

One line per `[forwards.NAME]` of the settings (and per RDP forward the app opened), redrawn
twice a second from the app's `ForwardManager` (`ssm_tui/forwards.py`, shared with `ssm-tui
forward`): its state (closed / starting / listening / reconnecting / failed and why), local port
and destination, connections, bytes in and out, since when, sessions. Enter opens or closes the
highlighted forward; they stay open when this screen is left, restart on their own when the
service closes the socket or ends the session, and the app's exit closes them all
(TerminateSession for each), leaving no session Active.

The manager runs on the services' AWS thread, off Textual's loop: its tasks own the local
listeners and the data channels; this screen only reads the records it keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from ssm_tui.forwards import Forward, ForwardManager
    from ssm_tui.services import Services

REDRAW = 0.5
"""Seconds between status redraws (the manager folds byte counts in once a second)."""
MARKS = {
    "closed": ("○", "dim"),
    "starting": ("◌", "yellow"),
    "listening": ("●", "green"),
    "reconnecting": ("◌", "yellow"),
    "failed": ("■", "red"),
}


def app_forwards(app: App[Any]) -> ForwardManager:
    """The app's one forward manager (made on first use from the settings' `[forwards.*]`)."""
    manager = getattr(app, "forward_manager", None)
    if manager is None:
        from ssm_tui.forwards import ForwardManager

        services = app.services  # type: ignore[attr-defined]
        named = getattr(services.get_settings(), "forwards", None) or {}
        manager = ForwardManager(dict(named))
        app.forward_manager = manager  # type: ignore[attr-defined]
    return manager


async def close_app_forwards(app: App[Any]) -> None:
    """The exit path: close every open forward on the AWS thread (TerminateSession each)."""
    manager = getattr(app, "forward_manager", None)
    if manager is not None and manager.open_names:
        await app.services.aws.run(manager.close_all())  # type: ignore[attr-defined]


def fleet_instances(app: App[Any]) -> list[Any]:
    """The instances the main screen's fleet knows now (where a forward's target is looked up)."""
    from ssm_tui.ui.screens.main import MainScreen

    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            return [row.instance for row in screen.fleet.model.rows.values()]
    return []


async def open_forward(app: App[Any], name: str) -> Forward:
    """Open `name` through the node its target names in the fleet (or mark it failed)."""
    from ssm_tui.aws.exceptions import SsmTuiError
    from ssm_tui.forwards import resolve, spec_for

    manager = app_forwards(app)
    forward = manager.forwards[name]
    services: Services = app.services  # type: ignore[attr-defined]
    try:
        instance = resolve(fleet_instances(app), forward.settings)
    except SsmTuiError as exc:
        reason = exc.message

        async def failed() -> Forward:
            return manager.fail(name, reason)

        return await services.aws.run(failed())
    spec = spec_for(name, forward.settings, instance)

    async def start() -> Forward:
        return manager.open(name, spec)

    return await services.aws.run(start())


def line_for(forward: Forward) -> Text:
    """One forward's status line: a state mark, then the manager's words, shown literally."""
    mark, style = MARKS.get(forward.state, ("?", ""))
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    line.append(f"{mark} ", style=f"bold {style}")
    line.append(forward.line())
    return line


class ForwardsScreen(Screen[None]):
    """The named forwards, one live status line each; enter opens or closes one."""

    BINDING_GROUP_TITLE = "Forwards"
    BINDINGS = [
        Binding("escape", "close", "Back", id="forwards.close", tooltip="Forwards stay open"),
        Binding("o", "open", "Open", id="forwards.open", tooltip="Open the highlighted forward"),
        Binding("x", "stop", "Close", id="forwards.stop", tooltip="Close the highlighted forward"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[str] = []
        self._lines: dict[str, str] = {}

    @property
    def manager(self) -> ForwardManager:
        return app_forwards(self.app)

    def compose(self) -> ComposeResult:
        yield Static(
            "Port forwards  enter: open/close · o: open · x: close · escape: back (they stay open)",
            id="forwards-title",
            markup=False,
        )
        yield OptionList(id="forwards-list")
        yield Static("", id="forwards-note", markup=False)

    def on_mount(self) -> None:
        self._redraw()
        self.set_interval(REDRAW, self._redraw, name="forwards-redraw")
        self.query_one(OptionList).focus()

    def _redraw(self) -> None:
        """Rebuild the list when forwards came or went, else relabel the lines that changed."""
        forwards = list(self.manager)
        options = self.query_one(OptionList)
        names = [f.name for f in forwards]
        if names != self._shown:
            highlighted = options.highlighted
            options.clear_options()
            options.add_options([Option(line_for(f), id=f"fwd-{f.name}") for f in forwards])
            self._shown = names
            self._lines = {f.name: f.line() for f in forwards}
            if forwards:
                options.highlighted = min(highlighted or 0, len(forwards) - 1)
        else:
            for index, forward in enumerate(forwards):
                text = forward.line()
                if self._lines.get(forward.name) != text:
                    self._lines[forward.name] = text
                    options.replace_option_prompt_at_index(index, line_for(forward))
        note = self.query_one("#forwards-note", Static)
        if not forwards:
            note.update(
                Text("No named forwards: add a [forwards.NAME] table to the settings file.")
            )
        else:
            note.update(Text(f"{len(self.manager.open_names)} of {len(forwards)} open"))

    def _highlighted(self) -> Forward | None:
        index = self.query_one(OptionList).highlighted
        forwards = list(self.manager)
        return forwards[index] if index is not None and index < len(forwards) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        forward = self._highlighted()
        if forward is None:
            return
        if forward.is_open:
            self._close(forward.name)
        else:
            self._open(forward.name)

    def action_open(self) -> None:
        forward = self._highlighted()
        if forward is not None and not forward.is_open:
            self._open(forward.name)

    def action_stop(self) -> None:
        forward = self._highlighted()
        if forward is not None and forward.is_open:
            self._close(forward.name)

    @work(group="forward-open", exit_on_error=False, description="open forward")
    async def _open(self, name: str) -> None:
        await open_forward(self.app, name)
        self._redraw()

    @work(group="forward-close", exit_on_error=False, description="close forward")
    async def _close(self, name: str) -> None:
        await self.app.services.aws.run(self.manager.close(name))  # type: ignore[attr-defined]
        self._redraw()

    def action_close(self) -> None:
        self.app.pop_screen()


def open_forwards(app: App[Any]) -> None:
    """Push the forwards screen (its styles first)."""
    if isinstance(app.screen, ForwardsScreen):
        return
    app.use_styles("forwards")  # type: ignore[attr-defined]
    app.push_screen(ForwardsScreen())
