"""`KeyBar`: the footer of active key bindings, drawn as one line by one widget.

Textual's `Footer` makes one widget per binding and recomposes them all whenever focus moves;
with this app's ~20 visible bindings that cost about as much as the rest of the first frame
together (measured with `benchmarks/app.py`: ~200 ms of CSS and layout work on a 2-core
machine). The key bar shows the same thing — every shown binding of the focused chain, disabled
ones dimmed, the command palette key on the right, tooltips on hover, a click runs the key,
the wheel scrolls a bar wider than the screen — in a single widget repainted in place.

Where the focused widget takes every key itself (a terminal pane: `CAPTURES_KEYS`), only
priority bindings still work, and the bar shows only those: not `p h l v ?`, which would type
into the shell.

It draws through Textual's line API (`render_line` returns a `Strip` of `Segment`s) rather than
`render()`: a rich `Text` of ~30 spans, joined, sliced, truncated, then converted by Textual to
its `Content` and back into strips cost ~2 ms of a cold first frame for one line. Here each run
of text gets its final style directly (a handful of distinct styles per draw), composed the way
that conversion composed them, so the segments, and the snapshots, are unchanged. The bar's
first draw in a cold `ssm-tui` (2,000 cached instances, 160×50): ~3.9 ms → ~1.8 ms.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

from ssm_tui.ui.compat import check_action_state, modal_binding_chain

SEPARATOR = "│"
"""Between the scrolling bindings and the command palette key."""
ELLIPSIS = "…"
"""Replaces the last visible cell of a bar cropped on the right."""

ONE_CELL = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("…│⏎↑↓←→")
"""Characters measured as one cell without asking rich: printable ASCII and the few others the
app's key displays and descriptions use. Rich's width table is a large module imported on the
first measure of any other character (~0.5 ms of the first frame, where nothing else needs it);
text with a character outside this set is measured by rich as usual. The tests check rich
agrees on every character listed here."""

_CONTROL = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])
"""`str.translate` table dropping C0/C1 control characters and DEL."""


def cells(text: str) -> int:
    """Terminal cells `text` takes (rich's measure, without its table for common characters)."""
    return len(text) if ONE_CELL.issuperset(text) else cell_len(text)


def _printable(text: str) -> str:
    """`text` without control characters: a binding's words are drawn, never interpreted."""
    return text if text.isprintable() else text.translate(_CONTROL)


class KeyEntry(NamedTuple):
    """One shown binding: the key it simulates, how the key is shown, and what it does."""

    key: str
    shown: str
    description: str
    enabled: bool
    tooltip: str


class KeySpan(NamedTuple):
    """Where one binding is drawn, and what a click on it runs."""

    start: int
    end: int
    """Columns of the widget (scrolling moves them)."""
    key: str
    enabled: bool
    tooltip: str


class _Run(NamedTuple):
    """Text of one style, with its width in cells."""

    text: str
    cells: int
    style: Style


def _crop(runs: list[_Run], start: int, end: int) -> list[_Run]:
    """The cells [start, end) of `runs` (a wide character cut in two becomes spaces)."""
    cropped: list[_Run] = []
    x = 0
    for run in runs:
        right = x + run.cells
        if right > start and x < end:
            if start <= x and right <= end:
                cropped.append(run)
            else:
                lo, hi = max(start, x) - x, min(end, right) - x
                if run.cells == len(run.text):
                    text = run.text[lo:hi]
                else:
                    text = Segment(run.text).split_cells(lo)[1].split_cells(hi - lo)[0].text
                cropped.append(_Run(text, hi - lo, run.style))
        x = right
        if x >= end:
            break
    return cropped


class _Styles:
    """The final style of each kind of run, computed once per kind and draw.

    The composition is the one Textual applies to a `Content` line, `base + (base + span
    styles in order)`, so colours (a dimmed key is a blended colour, not the terminal's dim)
    come out exactly as they did when the bar was a rich `Text`.
    """

    def __init__(self, bar: KeyBar) -> None:
        self._bar = bar
        self._base = bar.visual_style
        self._theme = bar.app.ansi_theme
        self._layers: dict[str, Style] = {}
        self._styles: dict[tuple[str | None, bool, bool], Style] = {}

    def _layer(self, name: str) -> Style:
        layer = self._layers.get(name)
        if layer is None:
            rich = (
                RichStyle(dim=True) if name == "dim" else self._bar.get_component_rich_style(name)
            )
            layer = self._layers[name] = Style.from_rich_style(rich, self._theme)
        return layer

    def get(self, part: str | None, dim: bool = False, hover: bool = False) -> Style:
        """Style of a `part` component ("key-bar--key"…; None: plain), dimmed and/or hovered."""
        style = self._styles.get((part, dim, hover))
        if style is None:
            layers = [self._base]
            if part is not None:
                layers.append(self._layer(part))
            if dim:
                layers.append(self._layer("dim"))
            if hover:
                layers.append(self._layer("key-bar--hover"))
            style = self._base + Style.combine(layers)
            self._styles[(part, dim, hover)] = style
        return style


class KeyBar(Widget, can_focus=False):
    """Active bindings of the screen: `key description` pairs on one line."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--hover"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-bar--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.spans: list[KeySpan] = []
        """Bindings as last drawn, in order (the palette key last)."""
        self._offset = 0
        self._hover: int | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def _active(self) -> dict[str, tuple[Binding, bool]]:
        """What `screen.active_bindings` gives, for the keys the bar can show.

        `active_bindings` asks `check_action` about every binding of the focused chain (~50
        here, most hidden: cursor keys, favourites), parsing each action string, arguments
        through `ast`, on first use: ~1 ms of the bar's first draw. A hidden binding matters
        only if it holds a key that a shown binding (or the palette) also uses, and a binding
        whose key is already held matters only if it is a priority binding that would replace
        it; the others are skipped, the rest is Textual's walk (private API, through
        `ssm_tui.ui.compat`; a test compares the result with `active_bindings`).
        """
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        chain = [(node, list(bindings)) for node, bindings in modal_binding_chain(self.screen)]
        if getattr(self.screen.focused, "CAPTURES_KEYS", False):
            # a terminal pane takes every key before the bindings see it: only priority
            # bindings (checked first) still work, so only they are shown (issue 15)
            chain = [(node, [kb for kb in bindings if kb[1].priority]) for node, bindings in chain]
        wanted = {key for _node, bindings in chain for key, binding in bindings if binding.show}
        if palette_key is not None:
            wanted.add(palette_key)
        active: dict[str, tuple[Binding, bool]] = {}
        for node, bindings in chain:
            for key, binding in bindings:
                if key not in wanted:
                    continue
                held = active.get(key)
                if held is not None and (held[0].priority or not binding.priority):
                    continue
                state = check_action_state(app, binding.action, node)
                if state is not False:  # None: shown but disabled
                    active[key] = (binding, bool(state))
        return active

    def _entries(self) -> tuple[list[KeyEntry], KeyEntry | None]:
        """One entry per shown action, and the command palette's (drawn on the right)."""
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        seen: set[str] = set()
        entries: list[KeyEntry] = []
        palette = None
        for key, (binding, enabled) in self._active().items():
            if key != palette_key and (not binding.show or binding.action in seen):
                continue
            entry = KeyEntry(
                binding.key,
                _printable(app.get_key_display(binding)),
                _printable(binding.description),
                enabled,
                _printable(binding.tooltip or binding.description),
            )
            if key == palette_key:
                palette = entry
            else:
                seen.add(binding.action)
                entries.append(entry)
        return entries, palette

    def _runs(self, entry: KeyEntry, styles: _Styles, hover: bool) -> list[_Run]:
        dim = not entry.enabled
        shown = f" {entry.shown} "
        runs = [_Run(shown, cells(shown), styles.get("key-bar--key", dim, hover))]
        if entry.description:
            words = f"{entry.description} "
            runs.append(_Run(words, cells(words), styles.get("key-bar--description", dim, hover)))
        return runs

    def _draw(self, width: int) -> list[_Run]:
        """The bar `width` cells wide (scrolled, cropped), and `spans` updated to match."""
        entries, palette = self._entries()
        styles = _Styles(self)
        hover = self._hover
        body: list[_Run] = []
        spans: list[KeySpan] = []
        x = 0
        for index, entry in enumerate(entries):
            runs = self._runs(entry, styles, index == hover)
            end = x + sum(run.cells for run in runs)
            spans.append(KeySpan(x, end, entry.key, entry.enabled, entry.tooltip))
            body += runs
            x = end
        tail = self._runs(palette, styles, hover == len(entries)) if palette is not None else []
        tail_cells = sum(run.cells for run in tail)
        visible = max(0, width - (tail_cells + 1 if palette is not None else 0))
        self._offset = offset = max(0, min(self._offset, x - visible))
        if offset:
            spans = [
                KeySpan(s.start - offset, s.end - offset, s.key, s.enabled, s.tooltip)
                for s in spans
            ]
        if palette is not None:
            start = visible + 1  # after the separator
            spans.append(
                KeySpan(start, start + tail_cells, palette.key, palette.enabled, palette.tooltip)
            )
        self.spans = spans

        if x - offset > visible:  # cropped on the right: an ellipsis replaces the last cell
            line = _crop(body, offset, offset + max(visible, 1))
            last = line.pop()
            kept = _crop([last], 0, last.cells - 1)
            text = kept[0].text if kept else ""
            line.append(_Run(text + ELLIPSIS, last.cells, last.style))
        else:
            line = _crop(body, offset, x) if offset else body
        pad = visible - sum(run.cells for run in line)
        plain = styles.get(None)
        if palette is not None:
            line.append(_Run(" " * max(pad, 0) + SEPARATOR, max(pad, 0) + 1, plain))
            line += tail
        elif pad > 0:
            line.append(_Run(" " * pad, pad, plain))
        if sum(run.cells for run in line) > width:  # narrower than the palette key
            line = _crop(line, 0, width)
        return line

    def render_line(self, y: int) -> Strip:
        """The bar on line 0 (a taller bar is blank below)."""
        width = self.size.width
        if y or not width:
            return Strip.blank(width, self.visual_style.rich_style)
        segments = []
        x = cell_length = 0
        for text, run_cells, style in self._draw(width):
            # each segment's style carries its offset (in characters, as Textual's `Content`
            # lines count it): Textual's text selection reads it, and snapshots hash it
            segments.append(Segment(text, style.rich_style_with_offset(x, 0)))
            x += len(text)
            cell_length += run_cells
        return Strip(segments, cell_length)

    def render(self) -> Text:
        """The line `render_line` draws, as rich `Text` (for tests and other callers)."""
        text = Text(no_wrap=True, end="")
        for run in self._draw(self.size.width):
            text.append(run.text, run.style.rich_style)
        return text

    def span_at(self, x: int) -> int | None:
        """Index of the binding under column `x` of the widget, if any."""
        for index, span in enumerate(self.spans):
            if span.start <= x < span.end:
                return index
        return None

    def on_click(self, event: events.Click) -> None:
        index = self.span_at(event.x)
        if index is None:
            return
        span = self.spans[index]
        if span.enabled:
            self.app.simulate_key(span.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self.span_at(event.x)
        if index != self._hover:
            self._hover = index
            tooltip = self.spans[index].tooltip if index is not None else ""
            self.tooltip = Content(tooltip) if tooltip else None  # literal text, not markup
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._scroll(4, event)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._scroll(-4, event)

    def _scroll(self, delta: int, event: events.MouseEvent) -> None:
        before = self._offset
        self._offset = max(0, self._offset + delta)
        if self._offset != before:
            event.stop()
            self.refresh()
