"""The fleet table: a virtual table over `FleetModel` that draws only the rows on screen.

Why not `DataTable`: re-filling a DataTable with 10,000 rows took ~3 s here (it measures every
cell of every new row), far from the 50 ms a filter keystroke may take. This widget uses the Line
API: the model hands it an ordered list of keys, each visible line is rendered from cells the model
prepared once, and a row updated by a refresh redraws only its own line. The cursor is a row *key*,
so refreshes, sorting and filtering keep it on the same instance.

Painting, not filtering, is what a keystroke costs (10,000 rows: ~3 ms to filter, the rest is
Textual rendering lines and the garbage collector): so `show` repaints only the lines on screen
whose row changed (typing on after `web` usually keeps the top rows), a cursor move repaints its
two lines, and the rendered lines are kept for the last `LINE_CACHE` rows drawn only (every row
ever drawn kept thousands of Textual strips alive, which each full collection walked).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ssm_tui.ui.fleet_columns import MARK, TableExtras
from ssm_tui.ui.fleet_model import COLUMNS, FleetModel, FleetRow, status_cell

_GAP = 2

_Drawn = tuple[int, int, list[str | None]]
"""(scroll y, cursor index, the row key of each body line): what the table shows now."""

LINE_CACHE = 512
"""Rendered lines kept (by row key): a few screens of scrolling back and forth."""


_STALE = Style(dim=True)
"""Rows of a scope whose refresh failed (`FleetModel.stale`)."""


class FleetTable(ScrollView, can_focus=True):
    """Instances as rows; Enter (or a click on the highlighted row) selects one."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "jump(0)", "First", show=False, id="table.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="table.last"),
        Binding(
            "enter",
            "select",
            "Connect",
            id="table.connect",
            tooltip="Open a shell on the highlighted instance",
        ),
    ]

    COMPONENT_CLASSES = {
        "fleet-table--header",
        "fleet-table--cursor",
        "fleet-table--sorted",
        "fleet-table--marked",
    }

    DEFAULT_CSS = """
    FleetTable { background: $surface; }
    FleetTable > .fleet-table--header { text-style: bold; background: $panel; color: $foreground; }
    FleetTable > .fleet-table--sorted { text-style: bold underline; }
    FleetTable > .fleet-table--cursor { background: $block-cursor-blurred-background; }
    FleetTable:focus > .fleet-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    """

    cursor_key: reactive[str | None] = reactive(None, layout=False, repaint=False)
    """Key of the highlighted row (an `Instance.key`); survives refresh, sort and filter."""

    class Selected(Message):
        """The user chose a row (Enter or click on the highlighted row)."""

        def __init__(self, table: FleetTable, row: FleetRow) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> FleetTable:
            return self.table

    class Highlighted(Message):
        """The cursor moved to another row (or to none)."""

        def __init__(self, table: FleetTable, row: FleetRow | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> FleetTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FleetTable.Highlighted)

    class SortRequested(Message):
        """A header was clicked: the owner re-sorts the model."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, model: FleetModel, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.model = model
        self._keys: list[str] = []
        self._cursor = 0
        self._cache: LRUCache[str, Strip] = LRUCache(LINE_CACHE)
        self._widths: tuple[int, ...] = ()
        self._header_cache: tuple[object, Strip] | None = None
        self._user_moved = False
        self._style_cache: tuple[Style, Style] | None = None
        self._styled: dict[tuple[str, str, str], list[Segment]] = {}
        self.extras = TableExtras()
        """Chosen columns and their fit to the width, marked rows, who is connected (issue 15,
        16, 17: `ui.fleet_columns`); the default columns that fit are drawn as before."""

    # -- data ------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_row(self) -> FleetRow | None:
        if not self._keys:
            return None
        return self.model.rows.get(self._keys[self._cursor])

    def visible_keys(self) -> list[str]:
        return list(self._keys)

    def show(
        self, keys: list[str], changed: set[str] | None = None, rows: int | None = None
    ) -> None:
        """Display `keys` in this order; `changed` rows are re-rendered (None: all of them).

        The cursor stays on its key when that key is still shown, else on the same position.
        `rows` is the view's length when `keys` are only its first rows (a first frame drawn
        before the rest of the cache is read): the scrollbar is then already the right size.
        """
        every_line = changed is None or self.model.widths != self._widths
        if every_line:
            self._widths = self.model.widths  # new column widths: every cached line is stale
            self._cache.clear()
        else:
            for key in changed or ():
                self._cache.discard(key)
        if self.fit_columns(changed is None or bool(changed)):
            every_line = True  # other columns: every line is drawn anew
        before = self._on_screen()
        old_key = self.cursor_key
        self._keys = keys
        if not self._user_moved:
            self._cursor = 0  # until the user moves it, the cursor stays on the first row
        elif old_key is not None and old_key in keys:  # scans at C speed: cheaper than the
            self._cursor = keys.index(old_key)  # dict of 10,000 keys a keystroke used to build
        else:
            self._cursor = min(self._cursor, max(len(keys) - 1, 0))
        width = sum(self.model.widths) + _GAP * len(COLUMNS)
        if self.extras.layout is not None:
            width = self.extras.layout.width
        size = Size(width, max(len(keys), rows or 0) + 1)
        if size != self.virtual_size:
            # assigning `virtual_size` also repaints every line; the layout (scrollbars) it
            # asks for is all a new length needs, the lines are repainted below as needed
            self.set_reactive(FleetTable.virtual_size, size)
            self.refresh(repaint=False, layout=True)
        self._set_cursor_key()
        self._scroll_cursor_into_view()
        if every_line:
            self.refresh()
        else:
            self._refresh_changed(before, changed or set())

    def _on_screen(self) -> _Drawn:
        """(scroll y, cursor index, key of each body line) as now drawn: what `show` compares."""
        top = int(self.scroll_y)
        body = max(self.size.height - 1, 0)
        shown: list[str | None] = list(self._keys[top : top + body])
        shown += [None] * (body - len(shown))
        return top, self._cursor, shown

    def _refresh_changed(self, before: _Drawn, changed: set[str]) -> None:
        """Repaint the body lines whose row differs from `before` (all of them if it scrolled).

        Textual keeps every other line as it rendered it; a line is the same when it shows the
        same row, unchanged, with the cursor on it or not as before.
        """
        top, cursor, shown = before
        now_top, _, now = self._on_screen()
        if now_top != top or len(now) != len(shown):
            self.refresh()
            return
        width = max(self.virtual_size.width, self.size.width)
        for y, (old, new) in enumerate(zip(shown, now, strict=True), start=1):
            index = top + y - 1
            if (
                old != new
                or (new is not None and new in changed)
                or (index == cursor) != (index == self._cursor)
            ):
                self.refresh(Region(0, y, width, 1))

    # -- cursor ----------------------------------------------------------------------------
    def _set_cursor_key(self) -> None:
        new_key = self._keys[self._cursor] if self._keys else None
        if new_key != self.cursor_key:
            self.cursor_key = new_key
            self.post_message(self.Highlighted(self, self.cursor_row))

    def move_cursor_to(self, index: int) -> None:
        if not self._keys:
            return
        self._user_moved = True
        before = self._on_screen()
        self._cursor = max(0, min(index, len(self._keys) - 1))
        self._set_cursor_key()
        self._scroll_cursor_into_view()
        self._refresh_changed(before, set())  # its two lines, or all if it scrolled

    def _scroll_cursor_into_view(self) -> None:
        body = max(self.size.height - 1, 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor_to(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor_to(self._cursor + direction * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self.move_cursor_to(0 if where == 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    # -- mouse -----------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x + int(self.scroll_x))
            if column is not None:
                self.post_message(self.SortRequested(column))
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self._keys):
            if index == self._cursor and event.chain >= 2:
                self.action_select()
            self.move_cursor_to(index)

    def _column_at(self, x: int) -> str | None:
        if self.extras.layout is not None:
            return self.extras.layout.column_at(x)
        left = 0
        for (key, _), width in zip(COLUMNS, self.model.widths, strict=True):
            if left <= x < left + width + _GAP:
                return key
            left += width + _GAP
        return None

    # -- rendering -------------------------------------------------------------------------
    def _line(self, cells: tuple[Text, ...] | list[Text], style: Style) -> Strip:
        """One row as segments; plain cells skip Rich's Text rendering (the hot path)."""
        segments: list[Segment] = []
        console = self.app.console
        for cell, width in zip(cells, self.model.widths, strict=True):
            length = cell.cell_len
            if length > width:
                cell = cell.copy()
                cell.truncate(width, overflow="ellipsis")
                length = cell.cell_len
            pad = " " * (width - length + _GAP)
            if cell.spans or cell.style:
                rendered = self._styled.get((cell.plain, str(cell.spans), str(cell.style)))
                if rendered is None:  # few distinct styled cells (the status dots): cache them
                    rendered = list(cell.render(console))
                    self._styled[(cell.plain, str(cell.spans), str(cell.style))] = rendered
                segments.extend(Segment.apply_style(rendered, style))
                segments.append(Segment(pad, style))
            else:
                segments.append(Segment(cell.plain + pad, style))
        return Strip(segments, sum(self.model.widths) + _GAP * len(self.model.widths))

    def _row_line(self, row: FleetRow, style: Style) -> Strip:
        """A row as segments; plain rows (ASCII, printable: nearly all) skip Rich's `Text`.

        Same cells as `_line` would draw from `row.cells`, made from the row's strings: the
        first frame draws ~45 rows, and Text objects were most of their cost.
        """
        if not row.plain:
            return self._line(row.cells, style)
        widths = self.model.widths
        texts = row.texts
        status = texts[0]
        rendered = self._styled.get((status, "", ""))
        if rendered is None:
            rendered = list(status_cell(status).render(self.app.console))
            self._styled[(status, "", "")] = rendered
        segments = list(Segment.apply_style(rendered, style))
        parts = [" " * (widths[0] - 2 - len(status) + _GAP)]
        for text, width in zip(texts[1:], widths[1:], strict=True):
            if len(text) > width:
                text = text[: width - 1] + "…"
            parts.append(text.ljust(width + _GAP))
        segments.append(Segment("".join(parts), style))
        return Strip(segments, sum(widths) + _GAP * len(widths))

    def _header(self) -> Strip:
        key = (self.model.widths, self.model.sort_column, self.model.sort_reverse)
        if self._header_cache is not None and self._header_cache[0] == key:
            return self._header_cache[1]
        style = self.get_component_rich_style("fleet-table--header")
        sorted_style = self.get_component_rich_style("fleet-table--sorted")
        cells = []
        for column, title in COLUMNS:
            if column == self.model.sort_column:
                arrow = "▼" if self.model.sort_reverse else "▲"
                cells.append(Text(f"{title} {arrow}", style=sorted_style, end=""))
            else:
                cells.append(Text(title, end=""))
        strip = self._line(cells, style)
        self._header_cache = (key, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base, cursor = self._styles()
        if y == 0:
            strip = self._header() if self.extras.layout is None else self._fitted_header()
        else:
            index = scroll_y + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            key = self._keys[index]
            cached = self._cache.get(key)
            if cached is None:
                row = self.model.rows.get(key)
                if row is None:
                    return Strip.blank(width, base)
                stale = row.scope in self.model.stale  # a failed scope's older rows: dimmed
                style = base + _STALE if stale else base
                layout = self.extras.layout
                cached = (
                    self._row_line(row, style)
                    if layout is None
                    else layout.line(row, style, self.app.console, self._styled, self.extras.who)
                )
                self._cache.set(key, cached)
            strip = cached
            if key in self.extras.marked:
                strip = self._marked(strip)
            if index == self._cursor:
                strip = Strip(Segment.apply_style(list(strip), post_style=cursor))
                strip = strip.extend_cell_length(width + scroll_x, base + cursor)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_resize(self) -> None:
        if self.fit_columns(False):  # issue 15: the columns this width holds
            layout = self.extras.layout
            width = sum(self.model.widths) + _GAP * len(COLUMNS)
            self.virtual_size = Size(layout.width if layout else width, self.virtual_size.height)
            self.refresh()
        self._scroll_cursor_into_view()

    # -- columns and marks (issues 15, 16: `ui.fleet_columns`) ---------------------------------
    def fit_columns(self, measure: bool) -> bool:
        """Choose the columns this width holds; whether they changed (`measure`: rows did)."""
        room = self.size.width or max(self.app.size.width - 2, 20)
        layout = self.extras.fit(self.model.rows.values(), self.model.widths, room, measure)
        if layout == self.extras.layout:
            return False
        self.extras.layout = layout
        self._cache.clear()
        return True

    def _fitted_header(self) -> Strip:
        assert self.extras.layout is not None
        style = self.get_component_rich_style("fleet-table--header")
        sorted_style = self.get_component_rich_style("fleet-table--sorted")
        return self.extras.layout.header(
            style, sorted_style, self.model.sort_column, self.model.sort_reverse
        )

    def _marked(self, strip: Strip) -> Strip:
        """A marked row: the marker over its status dot."""
        mark = Strip([Segment(MARK, self.get_component_rich_style("fleet-table--marked"))], 1)
        return Strip.join([mark, strip.crop(1)])

    def _styles(self) -> tuple[Style, Style]:
        """(base, cursor) styles, computed once per style change rather than per line."""
        if self._style_cache is None:
            cursor = self.get_component_rich_style("fleet-table--cursor")
            self._style_cache = (self.rich_style, cursor)
        return self._style_cache

    def on_focus(self) -> None:
        self._style_cache = None  # the cursor colour depends on :focus

    def on_blur(self) -> None:
        self._style_cache = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None
        self._cache.clear()
        self._header_cache = None
        self._styled.clear()
