"""`TabBar` rows (wide labels before the active tab included) and `Line` repaints.

The tab bar's oracle is its two rows built as rich `Text` per tab and rendered by rich: the
active tab's highlight and its underline must sit on that tab's own characters and cells.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widget import Widget

from ssm_tui.ui.widgets.line import Line
from ssm_tui.ui.widgets.tab_bar import TabBar


class Oracle(Widget):
    """Something else to focus."""

    DEFAULT_CSS = "Oracle { height: 1; width: 1fr; }"

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def render(self) -> Text:
        return self.text


class LineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Line("", id="line")


async def test_update_repaints_the_new_text() -> None:
    app = LineApp()
    async with app.run_test(size=(40, 6)) as pilot:
        line = app.query_one("#line", Line)
        line.update("first")
        await pilot.pause()
        drawn = app.screen._compositor.render_update(full=True)
        assert "first" in str(drawn.render_segments(app.console))
        line.update(Text("second", "bold"))
        assert line.text.plain == "second"
        await pilot.pause()
        drawn = app.screen._compositor.render_update(full=True)  # what the screen shows now
        assert "second" in str(drawn.render_segments(app.console))
        assert "first" not in str(drawn.render_segments(app.console))


class TabsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TabBar("Fleet", "fleet")
        yield Oracle(Text("focus elsewhere"))


def tab_rows(bar: TabBar) -> list[list[Segment]]:
    """The bar's two rows as rich `Text`, rendered by rich (the oracle)."""
    width = bar.size.width
    labels = Text(no_wrap=True, end="")
    columns = (0, 0)
    for tab in bar.tabs:
        label = tab.label.copy()
        label.truncate(30, overflow="ellipsis")
        part = Text.assemble(" ", label, " ")
        if tab.id == bar.active:
            part.stylize(bar.get_component_rich_style("tab-bar--active"))
            columns = (labels.cell_len, labels.cell_len + part.cell_len)
        labels.append_text(part)
    labels.truncate(width, overflow="ellipsis", pad=True)
    start, end = (min(column, width) for column in columns)
    rule = bar.get_component_rich_style("tab-bar--rule")
    under = bar.get_component_rich_style("tab-bar--underline")
    line = Text.assemble(
        ("─" * start, rule), ("━" * (end - start), under), ("─" * (width - end), rule), end=""
    )
    return [
        list(Strip(row.render(bar.app.console), width).apply_style(bar.rich_style))
        for row in (labels, line)
    ]


async def test_tab_bar_draws_its_rows_as_rich_renders_them() -> None:
    app = TabsApp()
    async with app.run_test(size=(100, 4)) as pilot:
        bar = app.query_one(TabBar)

        async def check(active: str | None = None) -> None:
            if active is not None:
                bar.active = active
            await pilot.pause()
            assert [list(bar.render_line(y)) for y in (0, 1)] == tab_rows(bar)

        await check()
        bar.add_tab("web-1 (prod)", "web")
        bar.add_tab(Text("名前のある"), "wide")  # wide characters before the active tab
        bar.add_tab(Text("db-2"), "db")
        await check("db")
        active = [seg.text for seg in bar.render_line(0) if seg.style.bold]
        assert active == [" db-2 "]  # the highlight is on the active tab's characters
        bar.focus()
        await check("web")
        app.query_one(Oracle).focus()
        bar.add_tab("x" * 31, "long")  # cut to 30 cells with an ellipsis
        bar.add_tab("日本語" * 8, "long-wide")
        await check("long")
        await check("long-wide")
        bar.add_tab(Text("styled", "italic"), "styled")  # a label with its own style
        await check("styled")
        await check("db")
        bar.add_tab("z" * 30, "past-the-edge")  # the row is now wider than the bar
        await check("past-the-edge")
        await check("fleet")


async def test_a_click_after_wide_labels_picks_the_tab_under_it() -> None:
    app = TabsApp()
    async with app.run_test(size=(60, 4)) as pilot:
        bar = app.query_one(TabBar)
        bar.add_tab("日本語", "wide")
        bar.add_tab("db-2", "db")
        await pilot.pause()
        await pilot.click(TabBar, offset=(15, 0))  # " Fleet " 7 + " 日本語 " 8 cells: db-2
        assert bar.active == "db"
        await pilot.click(TabBar, offset=(10, 1))
        assert bar.active == "wide"
