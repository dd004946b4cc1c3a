"""The audit search screen and the watch feed in the app, on the live sandbox (pilot)."""

from __future__ import annotations

import uuid
from typing import Any

from textual.app import App
from textual.widgets import DataTable

from ssm_tui.aws.models import Scope
from ssm_tui.ui.screens.audit import AuditSearchScreen, AuditWatchScreen
from ssm_tui.ui.screens.transcript import TranscriptScreen
from ssm_tui.ui.services import Services
from tests.audit.conftest import boto3_client
from tests.history.apps import STYLES, until
from tests.history.conftest import linux_target, run_session

DEV = Scope("dev", "eu-west-1")


class _Host(App[None]):
    CSS_PATH = [STYLES / "transcript.tcss"]

    def __init__(self, screen: Any) -> None:
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)

    def use_styles(self, *names: str) -> None:  # the real app adds area styles lazily
        pass


def cells(table: DataTable[Any], row: int) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in table.get_row_at(row)]


async def test_search_screen_finds_the_marker_and_opens_the_transcript_at_it(aws: Any) -> None:
    marker = uuid.uuid4().hex[:10]
    ran = await run_session(
        [f"echo '[b]UI'-$((3*3))-{marker}\r".encode()], profile="dev", region="eu-west-1"
    )
    services = Services(store=False, account_lookup=False)
    screen = AuditSearchScreen(services, [DEV])
    app = _Host(screen)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*f"UI-9-{marker}", "enter")
        table = screen.query_one("#audit-hits", DataTable)
        await until(pilot, lambda: table.row_count == 1, "one hit")
        row = cells(table, 0)
        assert row[1] == "alice" and row[3:5] == ["333333333333", "eu-west-1"]
        assert row[5] == f"[b]UI-9-{marker}"  # markup shown as typed, not applied
        assert screen.hits[0].session_id == ran.session_id
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), "viewer opened")
        viewer = app.screen
        assert isinstance(viewer, TranscriptScreen) and viewer.session_id == ran.session_id
        await until(pilot, lambda: viewer.document.complete, "transcript read")
        await until(pilot, lambda: viewer.view.current is not None, "at the hit")
        assert viewer._needle == f"UI-9-{marker}"
    services.aws.stop()


async def test_watch_feed_shows_a_session_started_elsewhere(aws: Any) -> None:
    services = Services(store=False, account_lookup=False)
    screen = AuditWatchScreen(services, [DEV], interval=0.5)
    app = _Host(screen)
    target = await linux_target("dev", "eu-west-1")
    ssm = boto3_client("ssm", "dev")
    async with app.run_test(size=(160, 30)) as pilot:
        status = screen.query_one("#audit-status")
        await until(pilot, lambda: "event" in str(status.render()), "first poll")
        sid = ssm.start_session(Target=target, Reason="[red]why[/red]")["SessionId"]
        try:
            table = screen.query_one(DataTable)
            await until(
                pilot,
                lambda: any(cells(table, n)[0] == "start" for n in range(table.row_count)),
                "start row",
            )
        finally:
            ssm.terminate_session(SessionId=sid)
        row = next(cells(table, n) for n in range(table.row_count) if cells(table, n)[0] == "start")
        assert row[2] == "alice" and row[4:6] == ["333333333333", "eu-west-1"]
        assert row[6] == "[red]why[/red]"
    services.aws.stop()


async def test_watch_feed_keeps_its_events_when_a_poll_outlasts_the_interval(aws: Any) -> None:
    """Under load a poll takes longer than the interval: the next tick used to cancel it (an
    exclusive worker), dropping the events it had already taken from the watcher."""
    services = Services(store=False, account_lookup=False)
    screen = AuditWatchScreen(services, [DEV], interval=0.2)
    app = _Host(screen)
    target = await linux_target("dev", "eu-west-1")
    ssm = boto3_client("ssm", "dev")
    sid = ssm.start_session(Target=target, Reason="slow poll")["SessionId"]
    aws.set_faults(latency_ms=400)  # every AWS call: a poll is now several intervals long
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            table = screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count > 0, "the session's row")
    finally:
        aws.reset_faults()
        ssm.terminate_session(SessionId=sid)
    services.aws.stop()
