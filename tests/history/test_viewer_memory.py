"""The transcript viewer's memory does not follow the transcript's size (issue 13).

`seq 1 3000000` (24.7 MB) used to take 741 MB in the lines view loaded to the end, and the screen
view (`e`) grew to gigabytes (200,000 lines of emulator cells, fed in one go on the UI loop,
frozen meanwhile). Here a 400,000-line transcript in the sandbox's S3 is read to the end:
- the lines view holds its lines in the spool file, not in memory;
- `e` replays in slices: the status line says how far it is, `escape` cancels it (the viewer
  stays open), and a replay let to run keeps only the fixed scrollback.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from ssm_tui.aws.models.logs import TranscriptRef
from ssm_tui.ui.screens import transcript
from ssm_tui.ui.screens.transcript import ScreenReplay, TranscriptScreen, TranscriptView
from tests.history.apps import STYLES, Host, until
from tests.history.conftest import ACCOUNT, PROFILE, REGION, put_s3

LINES = 400_000


def status(viewer: TranscriptScreen) -> str:
    return str(viewer.query_one("#transcript-status").render())


class Recording(TranscriptScreen):
    """The viewer, keeping every note its status line showed."""

    CSS_PATH = str(STYLES / "transcript.tcss")
    notes: list[str]

    def _update_status(self, note: str = "") -> None:
        self.__dict__.setdefault("notes", []).append(note)
        super()._update_status(note)


@pytest.mark.slow
async def test_large_transcript_lines_and_screen_views_stay_bounded(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one step per slice: the replay takes many frames whatever the machine's speed
    monkeypatch.setattr(transcript, "REPLAY_SLICE", 0.0)
    body = "".join(f"{i}\r\n" for i in range(1, LINES + 1)).encode()
    session_id = "alice-0000000000000b1a5"
    put_s3(session_id, body)
    ref = TranscriptRef(
        "s3", PROFILE, REGION, session_id, f"acme-ssm-sessions-{ACCOUNT}-{REGION}",
        f"session-logs/{session_id}.log", size=len(body),
    )  # fmt: skip
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        viewer = Recording(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: len(viewer.document) > 0, "first page")
        tracemalloc.start()
        try:
            await pilot.press("end")  # read to the end, as `G` does, page by page
            for _ in range(40):
                if viewer.document.complete:
                    break
                await pilot.press("end")
                await until(
                    pilot,
                    lambda: viewer.document.complete or not viewer._wanted.is_set(),
                    "reader idle",
                )
            held, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert viewer.document.complete and len(viewer.document) == LINES
        assert held < 16 * 2**20  # the strings alone were ~36 MB at this size
        view = viewer.query_one(TranscriptView)
        await pilot.press("end")
        await pilot.pause()
        assert view.render_line(view.size.height - 1).text.strip() == str(LINES)

        monkeypatch.setattr(ScreenReplay, "STEP_LINES", 20)  # 20,000 slices: still going
        await pilot.press("e")
        assert view.mode == "screen" and view.replaying
        assert any("replaying" in n and "escape: cancel" in n for n in viewer.notes)
        await pilot.press("escape")  # cancels the replay, keeps the viewer
        assert view.mode == "lines" and view.replay is None and not view.replaying
        assert app.screen is viewer and "cancelled" in status(viewer)

        monkeypatch.setattr(ScreenReplay, "STEP_LINES", 4000)  # 100 slices
        await pilot.press("e")
        await until(pilot, lambda: not view.replaying, "replay done")
        replay = view.replay
        assert replay is not None and replay.fed == LINES
        assert replay.emulator.scrollback_len <= ScreenReplay.SCROLLBACK
        assert len(replay) <= ScreenReplay.SCROLLBACK + ScreenReplay.ROWS
        await pilot.press("end")
        await pilot.pause()
        bottom = [view.render_line(y).text.strip() for y in range(view.size.height)]
        assert str(LINES) in bottom
