"""The app asks for a reason where the profile requires one, and StartSession carries it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.audit_reason import ReasonPrompt
from tests.audit.conftest import boto3_client
from tests.history.apps import until
from tests.history.conftest import linux_target


async def test_connect_in_the_app_asks_for_the_reason_first(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "config.toml"
    settings.write_text("[profiles.sandbox]\nrequire_reason = true\n")
    monkeypatch.setenv("SSM_TUI_CONFIG", str(settings))
    app = SsmTuiApp()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = app.screen
        table = screen.fleet.table
        target = await linux_target()

        def listed() -> str | None:  # row keys are account/region/id, one row per instance
            return next(
                (
                    k
                    for k in table.visible_keys()
                    if k.endswith(f"/us-east-1/{target}")
                    and "sandbox" in table.model.rows[k].profiles
                ),
                None,
            )

        await until(pilot, listed, "fleet listed")
        key = listed()
        assert key is not None
        table.move_cursor_to(table.visible_keys().index(key))
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReasonPrompt), "reason asked")
        assert not app.live_sessions  # nothing started before the answer
        await pilot.press("escape")  # cancelled: no session, no tab
        await until(pilot, lambda: not isinstance(app.screen, ReasonPrompt), "prompt closed")
        await pilot.pause(0.3)
        assert not app.live_sessions
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReasonPrompt), "asked again")
        await pilot.press(*"OPS-9 [b]check[/b]", "enter")
        await until(pilot, lambda: app.live_sessions, "session started")
        [started] = list(app.live_sessions.values())
        ssm = boto3_client("ssm", "sandbox")
        found = ssm.describe_sessions(
            State="Active", Filters=[{"key": "SessionId", "value": started.session_id}]
        )["Sessions"]
        assert [s.get("Reason") for s in found] == ["OPS-9 [b]check[/b]"]
