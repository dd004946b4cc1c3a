"""`KeyBar` drawn through the line API: same bindings as Textual's, hover, clicks, scrolling.

(`test_bars.py` has the first tests of the bar; these cover what its line-API drawing does.)
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style as RichStyle
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from ssm_tui.ui.widgets.key_bar import ONE_CELL, KeyBar, cells


class Panel(Widget, can_focus=True):
    """A focusable widget whose bindings overlap the app's in every way Textual resolves."""

    DEFAULT_CSS = "Panel { height: 1; }"
    BINDINGS = [
        Binding("x", "mark('hidden x')", "Hidden x", show=False),  # holds x: the app's x hides
        Binding("k", "mark('k')", "Keep", tooltip="[bold]literal[/] tip"),
        Binding("d", "mark('d')", "Disabled"),
        Binding("g", "gone", "Gone"),  # check_action False: the app's g shows instead
        Binding("m", "mark('k')", "Same action as k"),  # one entry per action
        Binding("r", "mark('panel r')", "Panel r"),  # the app's priority r replaces it
        Binding("h", "mark('panel h')", "Panel h"),  # the app's hidden priority h replaces it
        Binding("c", "mark('c')", "[b]x[/b]\x1b[31m\x07"),  # drawn literally
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "gone":
            return False
        if parameters == ("d",):
            return None  # shown, disabled
        return True


class KeyApp(App[None]):
    BINDINGS = [
        Binding("x", "mark('x')", "App x"),
        Binding("g", "mark('g')", "App g"),
        Binding("r", "mark('app r')", "App r", priority=True),
        Binding("h", "mark('app h')", "App h", show=False, priority=True),
        Binding("w", "mark('w')", "日本語 wide"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        yield Panel()
        yield Static("body", id="body")
        yield KeyBar()

    def action_mark(self, what: str) -> None:
        self.marks.append(what)

    def bell(self) -> None:
        self.bells += 1  # headless: nothing to hear, so count


def from_active_bindings(app: App[None]) -> list[tuple[str, bool, str]]:
    """What the bar should show, straight from Textual's `screen.active_bindings`.

    (Tooltips without control characters: the bar shows text, never runs it.)
    """
    shown: list[tuple[str, bool, str]] = []
    palette = []
    seen: set[str] = set()
    for key, active in app.screen.active_bindings.items():
        binding = active.binding
        tooltip = active.tooltip or binding.description
        item = (binding.key, active.enabled, "".join(c for c in tooltip if c.isprintable()))
        if key == app.COMMAND_PALETTE_BINDING:
            palette.append(item)
        elif binding.show and binding.action not in seen:
            seen.add(binding.action)
            shown.append(item)
    return shown + palette


def drawn(bar: KeyBar) -> tuple[list[str], list[RichStyle]]:
    """The bar's line as drawn, cell by cell: characters ("" right of a wide one) and styles."""
    strip = bar.render_line(0)
    assert strip.cell_length == bar.size.width == cell_len(strip.text)
    characters: list[str] = []
    styles: list[RichStyle] = []
    for segment in strip:
        for character in segment.text:
            width = cell_len(character)
            characters += [character, ""][:width]
            styles += [segment.style] * width
    return characters, styles


def shown(bar: KeyBar) -> list[tuple[str, bool, str]]:
    return [(span.key, span.enabled, span.tooltip) for span in bar.spans]


async def test_the_bar_shows_what_active_bindings_resolves_as_focus_moves() -> None:
    app = KeyApp()
    async with app.run_test(size=(200, 8)) as pilot:
        bar = app.query_one(KeyBar)
        app.query_one(Panel).focus()
        await pilot.pause()
        drawn(bar)
        assert shown(bar) == from_active_bindings(app)
        keys = [key for key, _enabled, _tip in shown(bar)]
        assert "x" not in keys  # held by the panel's hidden binding
        assert keys.count("g") == 1 and ("g", True, "App g") in shown(bar)
        assert ("r", True, "App r") in shown(bar)  # priority replaces
        assert "h" not in keys  # a hidden priority binding replaces a shown one
        assert "m" not in keys  # same action as k
        assert ("d", False, "Disabled") in shown(bar)
        assert keys[-1] == "ctrl+p"

        app.set_focus(None)
        await pilot.pause()
        drawn(bar)
        assert shown(bar) == from_active_bindings(app)
        assert [key for key, _e, _t in shown(bar)] == ["x", "g", "r", "w", "ctrl+p"]


async def test_descriptions_and_tooltips_are_literal() -> None:
    app = KeyApp()
    async with app.run_test(size=(200, 8)) as pilot:
        bar = app.query_one(KeyBar)
        app.query_one(Panel).focus()
        await pilot.pause()
        text, _styles = drawn(bar)
        assert " c [b]x[/b][31m " in "".join(text)  # no markup, no control characters
        keep = next(span for span in bar.spans if span.key == "k")
        await pilot.hover(KeyBar, offset=(keep.start + 1, 0))
        await pilot.pause()
        assert isinstance(bar.tooltip, Content)
        assert bar.tooltip.plain == "[bold]literal[/] tip"


async def test_hover_highlights_one_binding_and_leaving_clears_it() -> None:
    app = KeyApp()
    async with app.run_test(size=(200, 8)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        hover = bar.get_component_rich_style("key-bar--hover").bgcolor
        _text, styles = drawn(bar)
        assert all(style.bgcolor != hover for style in styles)
        g = next(span for span in bar.spans if span.key == "g")
        await pilot.hover(KeyBar, offset=(g.start + 2, 0))
        await pilot.pause()
        _text, styles = drawn(bar)
        lit = [x for x, style in enumerate(styles) if style.bgcolor == hover]
        assert lit == list(range(g.start, g.end))
        assert bar.tooltip is not None and bar.tooltip.plain == "App g"
        await pilot.hover("#body")
        await pilot.pause()
        _text, styles = drawn(bar)
        assert all(style.bgcolor != hover for style in styles)


async def test_a_click_runs_an_enabled_key_and_rings_for_a_disabled_one() -> None:
    app = KeyApp()
    async with app.run_test(size=(200, 8)) as pilot:
        bar = app.query_one(KeyBar)
        app.query_one(Panel).focus()
        await pilot.pause()
        drawn(bar)
        spans = {span.key: span for span in bar.spans}
        await pilot.click(KeyBar, offset=(spans["d"].start + 1, 0))
        await pilot.pause()
        assert app.marks == [] and app.bells == 1
        await pilot.click(KeyBar, offset=(spans["r"].end - 1, 0))
        await pilot.pause()
        assert app.marks == ["app r"] and app.bells == 1


async def test_the_palette_key_sits_right_after_the_separator() -> None:
    app = KeyApp()
    async with app.run_test(size=(120, 8)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        text, _styles = drawn(bar)
        palette = bar.spans[-1]
        assert palette.key == "ctrl+p" and palette.end == 120
        assert "".join(text[palette.start :]) == " ^p palette "
        assert text[palette.start - 1] == "│"
        assert "".join(text[: palette.start - 1]).rstrip().endswith("wide")  # padded, not cropped


async def test_wheel_scrolls_a_cropped_bar_and_stops_at_its_end() -> None:
    app = KeyApp()
    async with app.run_test(size=(40, 8)) as pilot:
        bar = app.query_one(KeyBar)
        app.query_one(Panel).focus()
        await pilot.pause()
        text, _styles = drawn(bar)
        before = [(span.start, span.end) for span in bar.spans]
        separator = bar.spans[-1].start - 1
        assert text[separator] == "│" and text[separator - 1] == "…"

        def wheel(event: type[events.MouseScrollDown | events.MouseScrollUp]) -> None:
            bar.post_message(event(bar, 2, 0, 0, 1, 0, False, False, False))

        wheel(events.MouseScrollDown)
        await pilot.pause()
        drawn(bar)
        after = [(span.start, span.end) for span in bar.spans]
        assert after[:-1] == [(start - 4, end - 4) for start, end in before[:-1]]
        assert after[-1] == before[-1]  # the palette key stays put
        wheel(events.MouseScrollUp)
        await pilot.pause()
        drawn(bar)
        assert [(span.start, span.end) for span in bar.spans] == before

        for _ in range(40):
            wheel(events.MouseScrollDown)
        await pilot.pause()
        text, _styles = drawn(bar)
        assert bar.spans[-2].end == separator  # the last binding ends at the separator
        assert "…" not in text and text[separator] == "│"
        assert "".join(text[:separator]).endswith(" w 日本語 wide ")


async def test_every_scroll_offset_fills_the_width_exactly_with_wide_text() -> None:
    app = KeyApp()
    async with app.run_test(size=(33, 8)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        drawn(bar)
        wide = next(span for span in bar.spans if span.key == "w")
        assert wide.end - wide.start == cell_len(" w 日本語 wide ")
        for offset in range(wide.end):  # every cut, through and past the wide characters
            bar._offset = offset
            text, _styles = drawn(bar)  # exactly the width, whatever the cut
            if bar._offset == offset and offset < wide.end - 20:
                assert text[19] == "…"  # the ellipsis at the last visible cell


def test_characters_counted_as_one_cell_are_one_cell_for_rich() -> None:
    assert all(cell_len(character) == 1 for character in ONE_CELL)
    for text in ("Connect with…", " ⏎ ", "日本語 wide", "é", "\u200d", "x\u0301"):
        assert cells(text) == cell_len(text)
