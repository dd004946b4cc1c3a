"""The local session record and history show the REMOTE exit status where one is known, and
nothing made up where none is (the agent sends no status for shell sessions)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from ssm_tui.store import Store
from tests.commands.test_remote_command import SSM_TUI, connect, linux_target


@pytest.mark.slow
def test_command_status_is_recorded_and_shown_in_history(sandbox_env: Any) -> None:
    result = connect(linux_target(sandbox_env), "echo hi; exit 7")
    assert result.returncode == 7, result.stderr
    (record,) = Store().local_sessions()
    assert record.exit_status == 7 and record.ended_at is not None
    assert record.document_name == "AWS-StartInteractiveCommand"
    shown = subprocess.run(
        [*SSM_TUI, "history", "--json"], capture_output=True, text=True, timeout=60
    )
    rows = {r["SessionId"]: r for r in map(json.loads, shown.stdout.splitlines())}
    assert rows[record.session_id]["ExitStatus"] == 7


@pytest.mark.slow
async def test_app_records_no_made_up_status_for_shell_tabs(sandbox_env: Any) -> None:
    """`exit 7` in a shell tab recorded 0 (the plugin's), closing a tab recorded 143."""
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.widgets.session_view import SessionView
    from tests.app_steps import show_linux_instances
    from tests.ui.conftest import wait_until

    app = SsmTuiApp()
    async with app.run_test(size=(140, 40)) as pilot:
        _fleet, screen = await show_linux_instances(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "tab 1")
        one = screen.query(SessionView).first()
        await wait_until(
            pilot, lambda: one.pane is not None and "$" in one.pane.screen_text(), "prompt"
        )
        first = one.started
        await pilot.press(*"exit 7", "enter")
        await wait_until(pilot, lambda: one.state == "ended", "the shell ended")
        await pilot.press("ctrl+right_square_bracket", "ctrl+w")
        await wait_until(pilot, lambda: not screen.query(SessionView), "tab 1 closed")

        await pilot.press("escape")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "tab 2")
        two = screen.query(SessionView).first()
        await wait_until(
            pilot, lambda: two.pane is not None and "$" in two.pane.screen_text(), "prompt 2"
        )
        second = two.started
        await pilot.press("ctrl+right_square_bracket", "ctrl+w", "y")  # closed by the user
        await wait_until(pilot, lambda: not app.live_sessions, "session 2 ended")
        await pilot.press("ctrl+q")
    records = {r.session_id: r for r in Store().local_sessions()}
    assert records[first.session_id].ended_at is not None
    assert records[first.session_id].exit_status is None  # was 0
    assert records[second.session_id].ended_at is not None
    assert records[second.session_id].exit_status is None  # was 143
