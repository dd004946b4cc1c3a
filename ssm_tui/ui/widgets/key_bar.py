"""`KeyBar`: the footer of active key bindings, drawn as one line by one widget.

Textual's `Footer` makes one widget per binding and recomposes them all whenever focus moves;
with this app's ~20 visible bindings that cost about as much as the rest of the first frame
together (measured with `benchmarks/app.py`: ~200 ms of CSS and layout work on a 2-core
machine). The key bar shows the same thing — every shown binding of the focused chain, disabled
ones dimmed, the command palette key on the right, tooltips on hover, a click runs the key,
the wheel scrolls a bar wider than the screen — but it is a single `Text` repainted in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class KeySpan:
    """Where one binding is drawn (cells from the bar's start), and what it runs."""

    start: int
    end: int
    """Columns of the widget (scrolling moves them)."""
    key: str
    enabled: bool
    tooltip: str


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
        self._width = 0

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def _entries(self) -> tuple[list[tuple[str, str, str, bool, str]], tuple | None]:
        """(key, shown key, description, enabled, tooltip) per action, and the palette's."""
        active = self.screen.active_bindings
        seen: set[str] = set()
        entries = []
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, (_node, binding, enabled, tooltip) in active.items():
            if not binding.show or binding.action in seen or key == palette_key:
                continue
            seen.add(binding.action)
            shown = self.app.get_key_display(binding)
            entries.append((binding.key, shown, binding.description, enabled, tooltip))
        palette = None
        if palette_key is not None and palette_key in active:
            _node, binding, enabled, tooltip = active[palette_key]
            shown = self.app.get_key_display(binding)
            palette = (
                binding.key,
                shown,
                binding.description,
                enabled,
                binding.tooltip or binding.description,
            )
        return entries, palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        hover_style = self.get_component_rich_style("key-bar--hover")
        entries, palette = self._entries()
        spans: list[KeySpan] = []

        def part(entry: tuple[str, str, str, bool, str]) -> Text:
            _key, shown, description, enabled, _tooltip = entry
            text = Text(no_wrap=True, end="")
            text.append(f" {shown} ", key_style)
            if description:
                text.append(f"{description} ", text_style)
            if not enabled:
                text.stylize("dim")
            return text

        parts = [part(entry) for entry in entries]
        self._width = sum(p.cell_len for p in parts)
        tail = part(palette) if palette is not None else Text(end="")
        visible = max(0, self.size.width - (tail.cell_len + 1 if palette else 0))
        self._offset = max(0, min(self._offset, self._width - visible))
        # spans in widget columns (the scroll offset already applied)
        x = -self._offset
        for entry, text in zip(entries, parts, strict=True):
            spans.append(KeySpan(x, x + text.cell_len, entry[0], entry[3], entry[4] or entry[2]))
            x += text.cell_len
        if palette is not None:
            spans.append(KeySpan(visible + 1, visible + 1 + tail.cell_len, *palette[0:1],
                                 palette[3], palette[4]))  # fmt: skip
        if self._hover is not None and self._hover < len(spans):
            target = parts[self._hover] if self._hover < len(parts) else tail
            target.stylize(hover_style)
        body = Text("").join(parts)
        body.no_wrap = True
        body.end = ""
        if self._offset:
            body = body[self._offset :]
        more = body.cell_len > visible
        body.truncate(visible, overflow="ellipsis" if more else None, pad=True)
        self.spans = spans
        if palette is None:
            return body
        return Text.assemble(body, "│", tail, no_wrap=True, end="")

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
            self.tooltip = self.spans[index].tooltip or None if index is not None else None
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
