"""The one-widget footer (`KeyBar`) and tab bar (`TabBar`) that replace Footer and Tabs."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from ssm_tui.ui.widgets.key_bar import KeyBar
from ssm_tui.ui.widgets.tab_bar import TabBar


class Bars(App[None]):
    BINDINGS = [
        Binding("x", "mark('x')", "Mark x", tooltip="Marks x"),
        Binding("y", "mark('y')", "Mark y"),
        Binding("z", "mark('z')", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []
        self.activated: list[str] = []

    def compose(self) -> ComposeResult:
        yield TabBar("Fleet", "tab-fleet", id="tabs")
        yield Static("body")
        yield KeyBar()

    def action_mark(self, what: str) -> None:
        self.marks.append(what)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark" and parameters == ("y",) and "x" not in self.marks:
            return None  # shown, disabled
        return True

    def on_tab_bar_tab_activated(self, event: TabBar.TabActivated) -> None:
        self.activated.append(event.tab_id)


async def test_key_bar_shows_shown_bindings_and_a_click_runs_the_key() -> None:
    app = Bars()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        text = bar.render().plain
        assert "x Mark x" in text and "y Mark y" in text and "Hidden" not in text
        assert "^p" in text  # the command palette key, on the right
        spans = {span.key: span for span in bar.spans}
        assert not spans["y"].enabled  # disabled by check_action until x ran
        await pilot.click(KeyBar, offset=(spans["y"].start + 1, 0))
        assert app.marks == []  # a disabled key only rings the bell
        await pilot.click(KeyBar, offset=(spans["x"].start + 1, 0))
        await pilot.pause()
        assert app.marks == ["x"]
        assert spans["x"].tooltip == "Marks x"
        app.refresh_bindings()
        await pilot.pause()
        assert {span.key: span for span in bar.spans}["y"].enabled


async def test_key_bar_crops_with_an_ellipsis_and_the_wheel_scrolls_it() -> None:
    app = Bars()
    async with app.run_test(size=(24, 10)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        first = bar.render().plain
        assert len(first) == 24 and "…" in first
        bar.post_message(events.MouseScrollDown(bar, 2, 0, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert bar.render().plain != first


async def test_tab_bar_adds_switches_wraps_and_removes() -> None:
    app = Bars()
    async with app.run_test(size=(80, 10)) as pilot:
        tabs = app.query_one(TabBar)
        tabs.add_tab(Text("[bold]web-1[/]"), "tab-1")
        tabs.add_tab("db", "tab-2")
        await pilot.pause()
        assert "[bold]web-1[/]" in tabs.render_line(0).text  # AWS text shown literally
        tabs.focus()
        await pilot.press("right")
        assert tabs.active == "tab-1"
        await pilot.press("left", "left")
        assert tabs.active == "tab-2"  # wraps around
        await pilot.click(TabBar, offset=(2, 0))
        assert tabs.active == "tab-fleet"
        tabs.active = "tab-2"
        tabs.remove_tab("tab-2")  # the active one: the tab before it takes over
        await pilot.pause()
        assert tabs.active == "tab-1" and tabs.tab_count == 2
        assert app.activated == ["tab-1", "tab-fleet", "tab-2", "tab-fleet", "tab-2", "tab-1"]
        start = tabs.render_line(0).text.index("web-1") - 1
        underline = tabs.render_line(1).text
        assert underline[start] == "━" and underline[0] == "─"


async def test_the_theme_is_set_before_the_first_parse_and_a_wrong_name_is_said() -> None:
    """`--theme` applies from the first frame; an unknown name warns and keeps ssm-dark."""
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.services import Services

    app = SsmTuiApp(Services(store=False), theme="nord")
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert app.theme == "nord" and app.has_class("-theme-nord")
        assert app.stylesheet._variables["primary"] == app.get_theme("nord").primary
    app = SsmTuiApp(Services(store=False), theme="no-such-theme")
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert app.theme == "ssm-dark" and app.has_class("-theme-ssm-dark")
        assert any("no-such-theme" in str(n.message) for n in app._notifications)
