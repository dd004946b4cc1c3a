"""Snapshots: both side panels (rows, errors, empty states) and the viewer on a hostile transcript.

The panels get prepared results (fixed times, so the pictures are stable); the viewer reads a
fixed transcript from the sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from ssm_tui import timefmt
from ssm_tui.aws.logs import TURN_ON_HINT
from ssm_tui.aws.models import ScopeError
from ssm_tui.aws.models.history import HistoryResult, SessionSummary
from ssm_tui.aws.models.logs import (
    CallerIdentity,
    LoggingPreferences,
    LogsProblem,
    LogsState,
    TranscriptListing,
    TranscriptRef,
)
from ssm_tui.ui.screens.transcript import TranscriptScreen
from ssm_tui.ui.widgets.history_panel import HistoryPanel
from ssm_tui.ui.widgets.logs_panel import LogsPanel
from tests.history.apps import Host, until
from tests.history.conftest import PROFILE, REGION, put_cloudwatch

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ALICE = "arn:aws:iam::111111111111:user/alice"
BOB = "arn:aws:sts::111111111111:assumed-role/SSMOperator/bob"


@pytest.fixture(autouse=True)
def utc_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots show UTC (`utc_times = true`), whatever the machine's zone."""
    monkeypatch.setattr(timefmt, "_utc", True)


def at(minutes: int) -> datetime:
    return T0.replace(minute=T0.minute + minutes) if minutes < 30 else T0.replace(hour=10)


def history_result() -> HistoryResult:
    rows = (
        SessionSummary(
            "bob-0a1b2c3d4e5f60718", "i-0123456789abcdef0", "Connected", BOB, at(20), None,
            "[red]hotfix[/red] \x1b[2J", "SSM-SessionManagerRunShell", PROFILE, "111111111111",
            REGION, "", "", "aws",
        ),
        SessionSummary(
            "alice-1a2b3c4d5e6f70819", "i-0123456789abcdef0", "Terminated", ALICE, at(5), at(12),
            "", "AWS-StartPortForwardingSession", PROFILE, "111111111111", REGION,
            "https://s3", "https://cw", "both", 0, "builtin",
        ),
        SessionSummary(
            "alice-2b3c4d5e6f7081920", "i-0123456789abcdef0", "Terminated", "", at(1), at(2),
            source="local", profile=PROFILE, exit_status=130, plugin="official",
        ),
    )  # fmt: skip
    error = ScopeError(
        "dev", "eu-west-1", "credentials expired: token expired", "run: aws sso login", "Expired"
    )
    return HistoryResult(rows, (error,))


def listings() -> list[TranscriptListing]:
    prefs = LoggingPreferences(
        PROFILE, REGION, "/acme/ssm/sessions", "acme-logs", "session-logs/", True, False
    )
    refs = tuple(
        TranscriptRef(src, PROFILE, REGION, sid, "c", sid, size, None, when)
        for src, sid, size, when in (
            ("cloudwatch", "alice-1a2b3c4d5e6f70819", 2048, at(12)),
            ("s3", "alice-1a2b3c4d5e6f70819", 1900, at(12)),
            ("s3", "alice-[bold]0000000000", 5_500_000, at(2)),
        )
    )
    caller = CallerIdentity("111111111111", ALICE, "alice")
    denied = LogsProblem(
        LogsState.NO_PERMISSION,
        "no permission: s3:ListBucket was denied",
        "ask your administrator to allow s3:ListBucket for this role",
        "s3:ListBucket",
        "prod",
        "s3",
    )
    off = LogsProblem(
        LogsState.NOT_CONFIGURED,
        "session logging is not configured in eu-west-1",
        TURN_ON_HINT,
        "",
        "dev",
    )
    return [
        TranscriptListing(PROFILE, REGION, prefs, caller, refs),
        TranscriptListing("prod", REGION, problems=(denied,)),
        TranscriptListing("dev", "eu-west-1", problems=(off,)),
    ]


def test_history_panel_snapshot(snap_compare: Any) -> None:
    panel = HistoryPanel()

    async def fill(pilot: Pilot) -> None:
        panel.target = "i-0123456789abcdef0"
        panel.show_result(history_result())
        await pilot.pause()

    assert snap_compare(Host(panel), terminal_size=(130, 12), run_before=fill)


def test_logs_panel_snapshot(snap_compare: Any) -> None:
    panel = LogsPanel()

    async def fill(pilot: Pilot) -> None:
        panel.show_listings(listings())
        await pilot.pause()

    assert snap_compare(Host(panel), terminal_size=(100, 18), run_before=fill)


def test_logs_panel_empty_state_snapshot(snap_compare: Any) -> None:
    panel = LogsPanel()

    async def fill(pilot: Pilot) -> None:
        panel.show_listings([listings()[2]])
        await pilot.pause()

    assert snap_compare(Host(panel), terminal_size=(100, 10), run_before=fill)


def test_viewer_snapshot_hostile_transcript_with_search(aws: Any, snap_compare: Any) -> None:
    lines = [
        "\x1b]0;evil\x07\x1b[2J[red]markup[/red] and \x1b[1;32mgreen\x1b[0m prompt$ ls\r\n",
        "file-one  file-two\r\n",
        "\x1b[31mERROR\x1b[0m something failed: [link=http://x]click[/link]\r\n",
        "progress 10%\rprogress 100%\r\n",
    ]
    put_cloudwatch("alice-00000000snapshot1", lines)
    ref = TranscriptRef(
        "cloudwatch", PROFILE, REGION, "alice-00000000snapshot1", "/acme/ssm/sessions",
        "alice-00000000snapshot1",
    )  # fmt: skip

    async def open_and_search(pilot: Pilot) -> None:
        viewer = TranscriptScreen(ref)
        await pilot.app.push_screen(viewer)
        await until(pilot, lambda: viewer.document.complete, "transcript read")
        await pilot.press("slash", *"file", "enter")
        await pilot.pause()

    assert snap_compare(Host(), terminal_size=(80, 12), run_before=open_and_search)
