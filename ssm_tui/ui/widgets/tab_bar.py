"""`TabBar`: the Fleet tab and one tab per session, drawn by one widget.

Textual's `Tabs` is a container of `Tab` widgets plus an animated underline widget; mounting it
cost about 25 ms of the first frame here (measured: a bare app's first frame with `Tabs` against
one with a one-line widget, minimum of 12 runs each), more than the rest of the top of the
screen. This bar has what the app uses of it — an active tab, add/remove, next/previous with
wrap-around, ←/→ when focused, click to choose, `TabActivated` when the active tab changes —
and draws labels and the underline as two `Text` lines. Session titles come from AWS (instance
names), so labels are `Text` and never markup.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


class TabItem(NamedTuple):
    """One tab: its id and label (literal text)."""

    id: str
    label: Text


class TabBar(Widget, can_focus=True):
    """A row of tab labels over an underline that marks the active one."""

    ALLOW_SELECT = False
    BINDINGS = [
        Binding("left", "previous_tab", "Previous tab", show=False),
        Binding("right", "next_tab", "Next tab", show=False),
        Binding(
            "enter,i",
            "enter_tab",
            "Into tab",
            id="tabs.enter",
            tooltip="Back into the session's terminal (or the fleet table)",
        ),  # fmt: skip
    ]
    COMPONENT_CLASSES = {
        "tab-bar--active", "tab-bar--underline", "tab-bar--rule", "tab-bar--broadcast",
    }  # fmt: skip
    DEFAULT_CSS = """
    TabBar {
        height: 2;
        width: 1fr;
        color: $foreground 60%;
        .tab-bar--active {
            color: $foreground;
            text-style: bold;
        }
        .tab-bar--underline {
            color: $block-cursor-background;
        }
        .tab-bar--rule {
            color: $foreground 10%;
        }
        .tab-bar--broadcast {
            color: $warning;
            text-style: bold;
        }
        &:focus .tab-bar--active {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
    }
    """

    class TabActivated(Message):
        """The active tab changed to `tab_id`."""

        def __init__(self, tab_bar: TabBar, tab_id: str) -> None:
            super().__init__()
            self.tab_bar = tab_bar
            self.tab_id = tab_id

        @property
        def control(self) -> TabBar:
            return self.tab_bar

    class Entered(Message):
        """Enter (or `i`) on the bar: the keyboard goes into the active tab's content."""

        def __init__(self, tab_bar: TabBar, tab_id: str) -> None:
            super().__init__()
            self.tab_bar = tab_bar
            self.tab_id = tab_id

        @property
        def control(self) -> TabBar:
            return self.tab_bar

    def __init__(self, label: Text | str, tab_id: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.tabs: list[TabItem] = [TabItem(tab_id, _text(label))]
        self._active = tab_id
        self._spans: list[tuple[int, int, str]] = []
        self.marked: frozenset[str] = frozenset()
        """Tabs that receive broadcast keys (`ui/broadcast.py`): drawn with a mark."""

    @property
    def active(self) -> str:
        """The active tab's id (setting it activates that tab)."""
        return self._active

    @active.setter
    def active(self, tab_id: str) -> None:
        if tab_id == self._active or not any(t.id == tab_id for t in self.tabs):
            return
        self._active = tab_id
        self.refresh()
        self.post_message(self.TabActivated(self, tab_id))

    @property
    def tab_count(self) -> int:
        return len(self.tabs)

    def add_tab(self, label: Text | str, tab_id: str) -> None:
        self.tabs.append(TabItem(tab_id, _text(label)))
        self.refresh()

    def set_label(self, tab_id: str, label: Text | str) -> None:
        """Relabel a tab (a port-forward tab learns its real local port)."""
        self.tabs = [TabItem(t.id, _text(label)) if t.id == tab_id else t for t in self.tabs]
        self.refresh()

    def set_marked(self, tab_ids: frozenset[str]) -> None:
        """Mark these tabs (broadcast mode's selection); empty: no marks."""
        if tab_ids != self.marked:
            self.marked = tab_ids
            self.refresh()

    def activate_number(self, number: int) -> bool:
        """Activate the `number`-th tab (1-based, the Fleet tab is 1); False when none."""
        if not 1 <= number <= len(self.tabs):
            return False
        self.active = self.tabs[number - 1].id
        return True

    def action_enter_tab(self) -> None:
        self.post_message(self.Entered(self, self._active))

    def remove_tab(self, tab_id: str) -> None:
        """Remove a tab; when it was active, the tab before it becomes active."""
        index = next((i for i, t in enumerate(self.tabs) if t.id == tab_id), None)
        if index is None or len(self.tabs) == 1:
            return
        del self.tabs[index]
        self.refresh()
        if tab_id == self._active:
            self._active = ""
            self.active = self.tabs[max(index - 1, 0)].id

    def _step(self, delta: int) -> None:
        ids = [t.id for t in self.tabs]
        index = ids.index(self._active) if self._active in ids else 0
        self.active = ids[(index + delta) % len(ids)]

    def action_next_tab(self) -> None:
        self._step(1)

    def action_previous_tab(self) -> None:
        self._step(-1)

    def _labels(self) -> Text:
        """The label row; keeps each tab's columns for the underline and for clicks."""
        active_style = self.get_component_rich_style("tab-bar--active")
        line = Text(no_wrap=True, end="")
        spans = []
        for tab in self.tabs:
            start, first = line.cell_len, len(line)
            label = tab.label.copy()
            label.truncate(30, overflow="ellipsis")
            if tab.id in self.marked:
                mark = self.get_component_rich_style("tab-bar--broadcast")
                label = Text.assemble(("⇶ ", mark), label)
            line.append_text(Text.assemble(" ", label, " "))
            if tab.id == self._active:  # characters, not cells: a wide label before takes fewer
                line.stylize(active_style, first, len(line))
            spans.append((start, line.cell_len, tab.id))
        self._spans = spans
        return line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        labels = self._labels()
        if y == 0:
            line = labels
            line.truncate(width, overflow="ellipsis", pad=True)
        else:
            rule = self.get_component_rich_style("tab-bar--rule")
            under = self.get_component_rich_style("tab-bar--underline")
            start, end = next(((a, b) for a, b, i in self._spans if i == self._active), (0, 0))
            start, end = min(start, width), min(end, width)
            line = Text.assemble(
                ("─" * start, rule), ("━" * (end - start), under), ("─" * (width - end), rule),
                no_wrap=True, end="",
            )  # fmt: skip
        return Strip(line.render(self.app.console), width).apply_style(self.rich_style)

    def on_click(self, event: events.Click) -> None:
        for start, end, tab_id in self._spans:
            if start <= event.x < end:
                self.active = tab_id
                return


def _text(label: Text | str) -> Text:
    return label.copy() if isinstance(label, Text) else Text(label)
