"""A bare host app for the history/logs widgets and the transcript viewer (tests, snapshots)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget

import ssm_tui.ui
from ssm_tui.services import Services
from ssm_tui.ui.messages import TranscriptRequested

STYLES = Path(ssm_tui.ui.__file__).parent / "styles"


class Host(App[None]):
    """Mounts the given widgets with the app's style sheets for them.

    Like the app, it holds a services object (the panels' and the viewer's loaders run on its
    AWS loop) and opens the viewer a panel asks for.
    """

    CSS_PATH = [STYLES / "history.tcss", STYLES / "logs.tcss", STYLES / "transcript.tcss"]

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self._widgets = widgets
        self.services = Services(store=False)

    def compose(self) -> ComposeResult:
        yield from self._widgets

    @on(TranscriptRequested)
    def _transcript_requested(self, message: TranscriptRequested) -> None:
        from ssm_tui.ui.screens.transcript import viewer_for

        self.push_screen(viewer_for(message, self.services.transcript_source()))

    def on_unmount(self) -> None:
        self.services.aws.stop()


async def until(pilot: Pilot, predicate: Callable[[], object], what: str) -> None:
    """Let the app run until `predicate()` holds (workers talk to the sandbox meanwhile)."""
    for _ in range(600):
        if predicate():
            return
        await pilot.pause(0.025)
    raise AssertionError(f"never happened: {what}")
