"""Issue 13, wrong states that look right, in the real app against the sandbox.

- A profile that fails to refresh kept its rows looking live while the line said "up to date":
  its rows are dimmed, the status line says how many rows are fresh and how old the rest are.
- EC2 enrichment throttled: the scope's rows stay and the line says their EC2 detail is missing.
- A broken AWS config: after the notification faded the line said `✓ 0 profile·regions up to
  date` and `e` said "No errors"; the problem stays on the line, and in `e`, until fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiobotocore.config import AioConfig

from ssm_tui.aws import clients
from ssm_tui.ui.app import SsmTuiApp
from tests.ui.conftest import wait_for_fleet, wait_until
from tests.ui.test_app import SIZE


def _dim_rows(fleet, profile: str) -> list[bool]:  # type: ignore[no-untyped-def]
    """For each drawn row of `profile` among the first screenful: is it drawn dim?"""
    table = fleet.table
    table._cache.clear()
    found = []
    for index, key in enumerate(table._keys[: table.size.height - 1]):
        if fleet.model.rows[key].instance.profile == profile:
            strip = table.render_line(index + 1 - table.scroll_offset.y)
            found.append(any(seg.style is not None and seg.style.dim for seg in strip))
    return found


async def test_failed_scope_rows_are_dimmed_and_counted_apart(sandbox_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fewer = clients.BASE_CONFIG.merge(AioConfig(retries={"mode": "standard", "max_attempts": 2}))
    monkeypatch.setattr(clients, "BASE_CONFIG", fewer)
    app = SsmTuiApp()
    try:
        async with app.run_test(size=SIZE) as pilot:
            fleet = await wait_for_fleet(pilot)
            await pilot.press("a")  # every status, so each profile has rows on screen
            assert fleet.progress.errors == {}
            assert _dim_rows(fleet, "dev") and not any(_dim_rows(fleet, "dev"))
            dev_rows = {k for k, r in fleet.model.rows.items() if r.instance.profile == "dev"}
            sandbox_env.set_faults(broken_profile="dev", ec2_throttled_profile="prod")
            fleet.start_refresh()
            await wait_until(pilot, lambda: not fleet._refreshing, "the second refresh")
            assert {s.profile for s in fleet.progress.errors} == {"dev"}
            # dev's rows stay, dimmed; the others are drawn as before
            assert dev_rows <= set(fleet.model.rows)
            assert all(_dim_rows(fleet, "dev")) and not any(_dim_rows(fleet, "sandbox"))
            status = fleet.query_one("#fleet-status").text.plain
            total = fleet.model.counts()[0]
            fresh = total - len([k for k in dev_rows if fleet.model.rows[k].scope in fleet.scopes])
            assert f"{fresh} fresh" in status and "ago" in status, status
            line = fleet.progress.text.plain
            up_to_date = len(fleet.scopes) - len(fleet.progress.errors)
            assert f"✓ {up_to_date} profile·regions up to date" in line, line  # not all of them
            assert "EC2" in line and "prod" in line, line
            prod_rows = [r for r in fleet.model.rows.values() if r.instance.profile == "prod"]
            assert prod_rows and not any(_dim_rows(fleet, "prod"))  # listed, not stale
            assert any(
                "EC2 details missing" in e.message for _, e in fleet.progress.describe_errors()
            )
            await pilot.press("ctrl+q")
    finally:
        sandbox_env.reset_faults()


@pytest.fixture
def broken_config(sandbox_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    base = Path(sandbox_env.env["AWS_CONFIG_FILE"]).read_text(encoding="utf-8")
    path = tmp_path / "aws-config"
    path.write_text(base + "\n[profile typo]\nregion = us-east-1\nnot a key value line\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    return path


async def test_a_config_problem_stays_on_screen_until_fixed(broken_config: Path) -> None:
    bad = broken_config.read_text(encoding="utf-8").splitlines().index("not a key value line") + 1
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await wait_for_fleet(pilot)
        app.clear_notifications()  # the notification faded: the line must still say it
        await pilot.pause()
        line = fleet.progress.text.plain
        assert f"{broken_config}, line {bad}" in line, line
        assert "prod" in {s.profile for s in fleet.scopes}  # the others still list
        said = [f"{e.message}" for _, e in fleet.progress.describe_errors()]
        assert any(f"line {bad}" in text for text in said), said
        broken_config.write_text(
            broken_config.read_text(encoding="utf-8").replace("not a key value line\n", "")
        )
        fleet.start_refresh()
        await wait_until(pilot, lambda: not fleet._refreshing, "the refresh after the fix")
        await wait_until(
            pilot, lambda: "line" not in fleet.progress.text.plain, "the problem gone from the line"
        )
        await pilot.press("ctrl+q")
