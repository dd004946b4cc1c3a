"""One rule for times everywhere: local time labelled with its zone, or UTC by setting (issue 13).

With TZ=America/New_York, `ssm-tui history` printed `START (UTC)` over local times, the
history panel showed local time, the transcripts panel UTC (unlabelled) and the viewer's `t`
expected UTC. Here the real `ssm-tui history` runs against the sandbox in a New York zone, and
the shared functions are checked for the panels and the viewer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from ssm_tui import timefmt

NOON_UTC = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)  # 08:00 EDT


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    monkeypatch.setattr(timefmt, "_utc", None)
    yield
    monkeypatch.undo()
    time.tzset()


def test_local_time_labelled_and_utc_by_setting(new_york: Any, tmp_path: Any) -> None:
    assert timefmt.format_time(NOON_UTC, label=True) == "2026-07-01 08:00:00 EDT"
    assert timefmt.format_time(NOON_UTC.replace(tzinfo=None)) == "2026-07-01 08:00:00"
    assert timefmt.format_time(NOON_UTC, utc=True, label=True) == "2026-07-01 12:00:00 UTC"
    # what the viewer's `t` reads: the same zone as shown
    assert timefmt.parse_time("08:00", NOON_UTC) == NOON_UTC
    assert timefmt.parse_time("2026-07-01 12:00", NOON_UTC, utc=True) == NOON_UTC
    assert timefmt.parse_time("8 o'clock", NOON_UTC) is None
    settings = tmp_path / "config.toml"
    settings.write_text("utc_times = true\n")
    os.environ["SSM_TUI_CONFIG"] = str(settings)
    timefmt._utc = None  # read the settings afresh
    try:
        assert timefmt.uses_utc() and timefmt.zone_label() == "UTC"
    finally:
        del os.environ["SSM_TUI_CONFIG"]


@pytest.mark.slow
def test_history_cli_labels_its_zone_and_prints_in_it(sandbox_env: Any, new_york: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "history"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120, check=False,
    ).stdout  # fmt: skip
    header = out.splitlines()[0]
    label = datetime.now(UTC).astimezone().tzname()
    assert f"START ({label})" in header and "UTC" not in header
