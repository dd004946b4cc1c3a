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
class KeyEntry:
    """One shown binding: the key it simulates, how the key is shown, and what it does."""

    key: str
    shown: str
    description: str
    enabled: bool
    tooltip: str


@dataclass(frozen=True, slots=True)
class KeySpan:
    """Where one binding is drawn, and what a click on it runs."""

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

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def _entries(self) -> tuple[list[KeyEntry], KeyEntry | None]:
        """One entry per shown action, and the command palette's (drawn on the right)."""
        active = self.screen.active_bindings
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        seen: set[str] = set()
        entries: list[KeyEntry] = []
        palette = None
        for key, (_node, binding, enabled, tooltip) in active.items():
            entry = KeyEntry(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                enabled,
                tooltip or binding.tooltip or binding.description,
            )
            if key == palette_key:
                palette = entry
            elif binding.show and binding.action not in seen:
                seen.add(binding.action)
                entries.append(entry)
        return entries, palette

    def _part(self, entry: KeyEntry) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(f" {entry.shown} ", self.get_component_rich_style("key-bar--key"))
        if entry.description:
            text.append(
                f"{entry.description} ", self.get_component_rich_style("key-bar--description")
            )
        if not entry.enabled:
            text.stylize("dim")
        return text

    def render(self) -> Text:
        entries, palette = self._entries()
        parts = [self._part(entry) for entry in entries]
        tail = self._part(palette) if palette is not None else None
        visible = max(0, self.size.width - (tail.cell_len + 1 if tail is not None else 0))
        width = sum(part.cell_len for part in parts)
        self._offset = max(0, min(self._offset, width - visible))
        spans, x = [], -self._offset  # widget columns: the scroll offset already applied
        for entry, part in zip(entries, parts, strict=True):
            spans.append(KeySpan(x, x + part.cell_len, entry.key, entry.enabled, entry.tooltip))
            x += part.cell_len
        if palette is not None and tail is not None:
            start = visible + 1  # after the separator
            spans.append(
                KeySpan(start, start + tail.cell_len, palette.key, palette.enabled, palette.tooltip)
            )
        if self._hover is not None and self._hover < len(spans):
            hovered = tail if self._hover == len(parts) else parts[self._hover]
            if hovered is not None:
                hovered.stylize(self.get_component_rich_style("key-bar--hover"))
        self.spans = spans
        body = Text("", no_wrap=True, end="").join(parts)[self._offset :]
        body.truncate(visible, overflow="ellipsis" if body.cell_len > visible else None, pad=True)
        if tail is None:
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
