"""Saving a transcript (`s`) asks before replacing a file and never creates folders (issue 13).

It used to overwrite without a word and `mkdir -p` whatever was typed (`/nonexistent-dir/x.log`
made a folder at the root). In `--demo`, HOME is a private folder deleted on exit, so `~` is the
user's real home (`SSM_TUI_USER_HOME`, which the demo sets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ssm_tui.aws.models.logs import TranscriptRef
from ssm_tui.ui.screens.transcript import TranscriptScreen
from tests.history.apps import Host, until
from tests.history.conftest import ACCOUNT, PROFILE, REGION, put_s3

SESSION = "alice-00000000000005a7e"


def status(viewer: TranscriptScreen) -> str:
    return str(viewer.query_one("#transcript-status").render())


async def save_as(pilot: Any, path: str) -> None:
    await pilot.press("s", "ctrl+u", *path, "enter")


@pytest.mark.slow
async def test_save_asks_before_overwriting_and_refuses_missing_folders(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_s3(SESSION, b"one\r\ntwo\r\n")
    ref = TranscriptRef(
        "s3", PROFILE, REGION, SESSION, f"acme-ssm-sessions-{ACCOUNT}-{REGION}",
        f"session-logs/{SESSION}.log", size=10,
    )  # fmt: skip
    existing = tmp_path / "kept.log"
    existing.write_text("precious\n")
    real_home = tmp_path / "real-home"
    real_home.mkdir()
    monkeypatch.setenv("SSM_TUI_USER_HOME", str(real_home))
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        viewer = TranscriptScreen(ref)
        app.push_screen(viewer)
        await until(pilot, lambda: viewer.document.complete, "transcript read")

        await save_as(pilot, str(existing))
        assert "exists: overwrite it?" in status(viewer)
        await pilot.press("n", "enter")
        assert "not saved" in status(viewer)
        assert existing.read_text() == "precious\n"

        await save_as(pilot, str(existing))
        await pilot.press("y", "enter")
        await until(pilot, lambda: existing.read_text() == "one\ntwo\n", "overwritten on yes")

        missing = tmp_path / "no-such-dir" / "x.log"
        await save_as(pilot, str(missing))
        await pilot.pause()
        assert "no folder" in status(viewer) and str(missing.parent) in status(viewer)
        assert not missing.parent.exists()

        await save_as(pilot, "~/demo.log")
        await until(pilot, (real_home / "demo.log").exists, "saved in the real home")
        assert (real_home / "demo.log").read_text() == "one\ntwo\n"
