"""Pilot tests: the history and logs panels and the transcript viewer on the live sandbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from ssm_tui.aws.models import Scope, StartedSession
from ssm_tui.aws.models.logs import TranscriptRef
from ssm_tui.store import Store
from ssm_tui.ui.screens.transcript import TranscriptScreen, TranscriptView
from ssm_tui.ui.widgets.history_panel import HistoryPanel
from ssm_tui.ui.widgets.logs_panel import LogsPanel
from tests.history.apps import Host, until
from tests.history.conftest import ACCOUNT, PROFILE, REGION, Ran, put_cloudwatch, put_s3

SCOPE = Scope(PROFILE, REGION)
EVIL_LINES = ["\x1b]0;evil\x07\x1b[2J[red]markup\r\n", "match one\r\n", "x\r\n", "match two\r\n"]


def cells(table: DataTable[Any], row: int) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in table.get_row_at(row)]


async def test_history_panel_lists_the_session_and_opens_its_transcript(
    aws: Any, finished: Ran, tmp_path: Path
) -> None:
    store = Store(tmp_path / "record.sqlite3")
    started = StartedSession(finished.session_id, "t", "ws://x", finished.target, REGION, PROFILE)
    store.record_session_start(started, account_id=ACCOUNT, plugin="builtin")
    store.record_session_end(finished.session_id, exit_status=0)
    panel = HistoryPanel(store=store, id="history")
    app = Host(panel)
    async with app.run_test(size=(160, 30)) as pilot:
        panel.show_for([SCOPE], finished.target)
        await until(pilot, lambda: finished.session_id in panel._sessions, "history loaded")
        table = panel.table
        row = table.get_row_index(finished.session_id)
        shown = cells(table, row)
        assert shown[2:4] == [finished.target, "Terminated (0)"]
        assert shown[5:7] == [finished.session_id, "alice"]  # session id, then owner (issue 15)
        assert shown[4] and re.fullmatch(r"\d+(h\d\dm|m\d\ds|s)", shown[1]), shown
        assert cells(table, row)[-1] == "both"  # AWS and the local record

        panel.action_toggle_all()
        await until(pilot, lambda: panel.result.sessions and panel.show_all, "all loaded")
        assert "all instances" in str(panel.query_one("#history-title").render())

        table.focus()
        table.move_cursor(row=table.get_row_index(finished.session_id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), "viewer opened")
        viewer = app.screen
        assert isinstance(viewer, TranscriptScreen)
        await until(pilot, lambda: viewer.document.complete, "transcript read")
        assert viewer.ref is not None and viewer.ref.source == "cloudwatch"
        text = list(viewer.document.iter_plain())
        assert any("echo hello-from-history" in line for line in text)
        await pilot.press("escape")
        assert app.screen is not viewer


@pytest.mark.slow
async def test_logs_panel_mine_everyone_filter_and_open(aws: Any, finished: Ran) -> None:
    put_cloudwatch("carol-00000000000000001", ["carol's shell\r\n"])
    panel = LogsPanel(id="logs")
    app = Host(panel)
    async with app.run_test(size=(160, 30)) as pilot:
        panel.show_for([SCOPE])
        await until(pilot, lambda: panel.listings, "listing")
        ids = {ref.session_id for ref in panel.items}
        assert finished.session_id in ids and not any(i.startswith("carol-") for i in ids)
        sources = {r.source for r in panel.items if r.session_id == finished.session_id}
        assert sources == {"cloudwatch", "s3"}
        assert "CloudWatch /acme/ssm/sessions" in str(panel.query_one("#logs-prefs").render())

        await pilot.press("e")
        await until(pilot, lambda: panel.listings[0].everyone, "everyone's listing")
        assert "carol-00000000000000001" in {ref.session_id for ref in panel.items}

        await pilot.press("slash")
        await pilot.press(*finished.session_id[-8:])
        await until(pilot, lambda: panel.table.row_count == 1, "filtered")  # CW+S3: 1 row
        await pilot.press("enter")  # leaves the filter box for the table
        panel.table.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), "viewer opened")
        viewer = app.screen
        await until(pilot, lambda: viewer.document.complete, "transcript read")
        assert viewer.session_id == finished.session_id


async def test_logs_panel_explains_logging_not_configured(aws: Any) -> None:
    panel = LogsPanel()
    app = Host(panel)
    async with app.run_test(size=(120, 20)) as pilot:
        panel.show_for([Scope(PROFILE, "ap-northeast-1")])
        await until(pilot, lambda: panel.listings, "listing")
        status = str(panel.query_one("#logs-status").render())
        assert "logging is not configured" in status and "Preferences" in status
        assert panel.query_one("#logs-status").has_class("-error")


async def test_viewer_shows_escapes_and_markup_literally_and_searches(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    put_cloudwatch("alice-000000000000e7e11", EVIL_LINES)
    ref = TranscriptRef(
        "cloudwatch", PROFILE, REGION, "alice-000000000000e7e11", "/acme/ssm/sessions",
        "alice-000000000000e7e11",
    )  # fmt: skip
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        title_before = app.title
        viewer = TranscriptScreen(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: viewer.document.complete, "transcript read")
        await pilot.pause()
        view = viewer.query_one(TranscriptView)
        first = view.render_line(0)
        assert first.text.rstrip() == "[red]markup"
        assert all("\x1b" not in seg.text and "\x07" not in seg.text for seg in first)
        assert app.title == title_before  # the OSC set no title

        await pilot.press("v")  # raw view: the escapes as symbols
        assert view.render_line(0).text.rstrip() == "␛]0;evil␇␛[2J[red]markup"
        await pilot.press("e")  # screen view: replayed through the terminal emulator
        assert view.mode == "screen" and view.replay is not None
        assert view.replay.emulator.title == "evil"  # the emulator kept the title to itself
        assert [view.render_line(y).text.rstrip() for y in range(4)] == [
            "[red]markup", "match one", "x", "match two"
        ]  # fmt: skip
        assert app.title == title_before
        await pilot.press("e")
        assert view.mode == "lines"

        await pilot.press("slash", *"MATCH", "enter")
        assert view.current is not None and view.current.line == 1
        await pilot.press("n")
        assert view.current.line == 3
        await pilot.press("n")  # no further match: wraps to the first (issue 15)
        assert view.current.line == 1
        await pilot.press("N")  # and back over the top to the last
        assert view.current.line == 3
        await pilot.press("N")
        assert view.current.line == 1

        await pilot.press("t")
        stamp = datetime.fromtimestamp(viewer.document.times[3], UTC).astimezone()  # shown zone
        await pilot.press(*stamp.strftime("%H:%M:%S.%f"), "enter")
        assert view.scroll_offset.y <= 3 < view.scroll_offset.y + view.size.height

        out = tmp_path / "saved.txt"  # the prompt's relative path lands in the cwd
        await pilot.press("s", "ctrl+u", *"saved.txt", "enter")
        await until(pilot, out.exists, "saved")
        await until(pilot, lambda: out.read_text().count("\n") == 4, "written")
        assert out.read_text() == "[red]markup\nmatch one\nx\nmatch two\n"


@pytest.mark.slow
async def test_viewer_opens_on_the_first_page_and_reads_more_on_scroll(aws: Any) -> None:
    body = "".join(f"row {i:06d}\r\n" for i in range(200_000)).encode()  # ~2.2 MB
    put_s3("alice-00000000000000b16", body)
    ref = TranscriptRef(
        "s3", PROFILE, REGION, "alice-00000000000000b16",
        f"acme-ssm-sessions-{ACCOUNT}-{REGION}", "session-logs/alice-00000000000000b16.log",
        size=len(body),
    )  # fmt: skip
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        viewer = TranscriptScreen(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: len(viewer.document) > 0, "first page")
        await until(pilot, lambda: not viewer._wanted.is_set(), "reader idle")
        loaded = viewer.document.byte_count
        assert not viewer.document.complete and loaded < len(body)  # only the first page(s)
        await pilot.press("end")
        await until(pilot, lambda: viewer.document.byte_count > loaded, "more read on scroll")
        await pilot.press("slash", *"row 199999", "enter")  # beyond what is loaded
        await until(pilot, lambda: viewer.query_one(TranscriptView).current, "found")
        assert viewer.document.complete
        assert viewer.query_one(TranscriptView).current.line == 199_999


async def test_viewer_says_when_there_is_no_transcript_yet(aws: Any) -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        viewer = TranscriptScreen(
            session_id="alice-00000000000000404", profile=PROFILE, region=REGION
        )
        app.push_screen(viewer)
        await until(pilot, lambda: viewer.problems, "problem shown")
        status = str(viewer.query_one("#transcript-status").render())
        assert "when the session ends" in status
