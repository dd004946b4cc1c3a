"""The transcript viewer's keys (issue 15): search wraps, `G` reaches the real end, `?` its keys.

Transcripts are real objects in the sandbox's S3 and CloudWatch Logs, read by the viewer's own
pages, as in the app.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from ssm_tui.aws.models.logs import TranscriptRef
from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.help import HelpScreen
from ssm_tui.ui.screens.transcript import TranscriptScreen, TranscriptView
from ssm_tui.ui.services import Services
from tests.history.apps import Host, until
from tests.history.conftest import ACCOUNT, PROFILE, REGION, put_cloudwatch, put_s3


def s3_ref(session_id: str, size: int) -> TranscriptRef:
    return TranscriptRef(
        "s3", PROFILE, REGION, session_id, f"acme-ssm-sessions-{ACCOUNT}-{REGION}",
        f"session-logs/{session_id}.log", size=size,
    )  # fmt: skip


def status(viewer: TranscriptScreen) -> str:
    return str(viewer.query_one("#transcript-status").render())


async def test_G_goes_to_the_real_end_of_a_long_transcript(aws: Any) -> None:
    body = "".join(f"row {i:06d}\r\n" for i in range(200_000)).encode()
    put_s3("alice-0000000000000e4d1", body)
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        viewer = TranscriptScreen(s3_ref("alice-0000000000000e4d1", len(body)))
        app.push_screen(viewer)
        await until(pilot, lambda: len(viewer.document) > 0, "first page")
        await until(pilot, lambda: not viewer._wanted.is_set(), "reader idle")
        assert not viewer.document.complete
        await pilot.press("G")
        await until(pilot, lambda: viewer.document.complete, "read to the end")
        view = viewer.query_one(TranscriptView)
        await until(pilot, lambda: view.scroll_offset.y + view.size.height >= view.line_count,
                    "the last line shown")  # fmt: skip
        shown = [view.render_line(y).text for y in range(view.size.height)]
        assert any("row 199999" in line for line in shown), shown
        assert "end" in status(viewer)


async def test_search_wraps_around_both_ways(aws: Any) -> None:
    lines = ["match one\r\n", "x\r\n", "y\r\n", "match two\r\n", "z\r\n"]
    put_cloudwatch("alice-0000000000000a4a9", lines)
    ref = TranscriptRef(
        "cloudwatch", PROFILE, REGION, "alice-0000000000000a4a9", "/acme/ssm/sessions",
        "alice-0000000000000a4a9",
    )  # fmt: skip
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        viewer = TranscriptScreen(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: viewer.document.complete, "read")
        view = viewer.query_one(TranscriptView)
        await pilot.press("slash", *"match", "enter")
        await until(pilot, lambda: view.current, "first match")
        assert view.current.line == 0
        await pilot.press("n")
        assert view.current.line == 3
        await pilot.press("n")  # past the last match: back to the first
        assert view.current.line == 0
        assert "wrapped to the top" in status(viewer)
        await pilot.press("N")  # before the first: the last
        assert view.current.line == 3
        assert "wrapped to the bottom" in status(viewer)
        await pilot.press("slash", *"nowhere", "enter")
        assert "not found: nowhere" in status(viewer)


async def test_help_on_the_viewer_lists_the_viewer_keys(aws: Any) -> None:
    put_cloudwatch("alice-0000000000000be1f", ["one line\r\n"])
    ref = TranscriptRef(
        "cloudwatch", PROFILE, REGION, "alice-0000000000000be1f", "/acme/ssm/sessions",
        "alice-0000000000000be1f",
    )  # fmt: skip
    app = SsmTuiApp(Services(store=False, account_lookup=False))
    async with app.run_test(size=(100, 40)) as pilot:
        viewer = TranscriptScreen(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: viewer.document.complete, "read")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        help_screen = app.screen
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_screen._keys_table())
        for title, rows in TranscriptScreen.HELP_SECTIONS:
            console.print(help_screen._pairs_table(title, rows))
        assert help_screen.query(".help-section") and not help_screen.query("#help-filter")
        text = console.export_text()
        for words in ("Search", "Next", "End", "G", "Top", "Transcript", "wrap"):
            assert words in text, words
        # the fleet's filter help is not the viewer's (checked above: no #help-filter)
