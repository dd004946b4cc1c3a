"""The side panels in the real app: `h` and `l` on the fleet screen, following the cursor."""

from __future__ import annotations

from typing import Any

import pytest

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.transcript import TranscriptScreen
from ssm_tui.ui.widgets.history_panel import HistoryPanel
from ssm_tui.ui.widgets.logs_panel import LogsPanel
from tests.history.apps import until
from tests.history.conftest import PROFILE, REGION, Ran, linux_target


@pytest.mark.slow
async def test_h_and_l_toggle_side_panels_that_follow_the_fleet(aws: Any, finished: Ran) -> None:
    app = SsmTuiApp()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = app.screen
        table = screen.fleet.table
        node = f"/{REGION}/{finished.target}"  # one row per (account, region, instance)
        await until(pilot, lambda: any(k.endswith(node) for k in table.visible_keys()), "listed")
        key = next(k for k in table.visible_keys() if k.endswith(node))
        table.move_cursor_to(table.visible_keys().index(key))
        table.focus()
        await pilot.press("h")
        panel = screen.query_one(HistoryPanel)
        await until(pilot, lambda: finished.session_id in panel._sessions, "history of the row")
        assert panel.target == finished.target

        other = next(
            k for k in table.visible_keys() if k != key and PROFILE in table.model.rows[k].profiles
        )
        table.move_cursor_to(table.visible_keys().index(other))
        await until(pilot, lambda: panel.target == other.rsplit("/", 1)[-1], "panel followed")

        await pilot.press("l")
        logs = screen.query_one(LogsPanel)
        await until(pilot, lambda: logs.listings, "transcripts listed")
        assert finished.session_id in {ref.session_id for ref in logs.items}

        await pilot.press("h")  # closes the history panel, the logs panel stays
        await pilot.pause()
        assert not screen.query(HistoryPanel) and screen.query(LogsPanel)

        logs.table.focus()
        row = next(i for i, r in enumerate(logs.rows) if r.session_id == finished.session_id)
        logs.table.move_cursor(row=row)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), "viewer")
        viewer = app.screen
        await until(pilot, lambda: viewer.document.complete, "read")
        assert any("hello-from-history" in line for line in viewer.document.iter_plain())


@pytest.mark.slow
async def test_session_run_through_the_app_is_in_history_local_record_and_logs(
    aws: Any,
) -> None:
    """Connect from the fleet, type a command, close the tab: then `h` and `l` show it."""
    from ssm_tui.store import Store

    app = SsmTuiApp()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = app.screen
        table = screen.fleet.table
        target = await linux_target()
        node = f"/{REGION}/{target}"  # one row per (account, region, instance)
        await until(pilot, lambda: any(k.endswith(node) for k in table.visible_keys()), "listed")
        key = next(k for k in table.visible_keys() if k.endswith(node))
        table.move_cursor_to(table.visible_keys().index(key))
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.live_sessions, "session started")
        [started] = list(app.live_sessions.values())
        view = screen._active_view()
        await until(pilot, lambda: view.pane is not None and view.state == "connected", "shell")
        pane = view.pane
        await until(pilot, lambda: "$" in pane.emulator.text(), "prompt")
        pane.send(b"echo via-the-app\r")
        await until(pilot, lambda: pane.emulator.text().count("via-the-app") >= 2, "echoed")
        pane.send(b"exit\r")  # the shell ends, so does the session (keys go to the shell)

        def ended() -> bool:
            record = {s.session_id: s for s in Store().local_sessions()}
            return record[started.session_id].ended_at is not None

        await until(pilot, ended, "the local record has the end")

        screen.action_fleet()
        table.focus()
        await pilot.press("h")
        panel = screen.query_one(HistoryPanel)
        await until(pilot, lambda: started.session_id in panel._sessions, "history")
        row = panel._sessions[started.session_id]
        assert row.source == "both" and row.plugin in ("builtin", "official")
        assert row.status == "Terminated"

        await pilot.press("l")
        logs = screen.query_one(LogsPanel)
        await until(pilot, lambda: logs.listings, "transcripts")
        mine = {r.source for r in logs.items if r.session_id == started.session_id}
        assert mine == {"cloudwatch", "s3"}
        logs.table.focus()
        row_index = next(i for i, r in enumerate(logs.rows) if r.session_id == started.session_id)
        assert {ref.source for ref in logs.rows[row_index].refs} == {"cloudwatch", "s3"}  # 1 row
        listed = logs.rows[row_index]  # who ran it, on which instance (the local record)
        assert (listed.profile, listed.target) == (started.profile, started.target)
        assert listed.name and listed.name in str(logs.table.get_row_at(row_index)[2])
        logs.table.move_cursor(row=row_index)
        await pilot.press("s")  # the S3 copy of that session's transcript
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), "viewer")
        viewer = app.screen
        await until(pilot, lambda: viewer.document.complete, "read")
        assert any("echo via-the-app" in line for line in viewer.document.iter_plain())
