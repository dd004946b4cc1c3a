"""A one-line text widget that repaints without a layout pass.

`Static.update()` asks for a new layout (its size might change); the fleet's status, progress and
favourites lines change on every keystroke or scope result but never change size, so a plain
repaint is enough and keeps filter keystrokes cheap. Text is shown literally (a `Text`, no markup).
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class Line(Widget):
    """Shows one `Text`; `update()` repaints only this widget."""

    DEFAULT_CSS = """
    Line { height: 1; width: 1fr; }
    """

    def __init__(self, text: Text | str = "", *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._text = text if isinstance(text, Text) else Text(text)

    def update(self, text: Text | str) -> None:
        self._text = text if isinstance(text, Text) else Text(text)
        self.refresh()

    @property
    def text(self) -> Text:
        return self._text

    def render(self) -> Text:
        return self._text
