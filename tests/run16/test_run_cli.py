"""`ssm-tui run` as a user runs it: a real subprocess, Run Command in the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.run16.conftest import WORLD, prod_instance


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "run", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


@pytest.mark.slow
def test_a_filter_runs_on_every_matching_instance_across_regions(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    done = _run(
        "--profile", "prod", "--regions", "eu-west-1", "--filter", "tag:Role=web", "--json",
        "--", "echo", "ran on $AWS_SSM_INSTANCE_ID",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = {
        i.instance_id
        for i in WORLD.instances
        if i.account_id == "222222222222"
        and "web" in i.tags.get("Role", "")
        and i.ping_status == "Online"
    }
    assert {r["instance_id"] for r in rows} == expected
    assert {r["region"] for r in rows} == {"us-east-1", "eu-west-1"}
    for row in rows:
        assert row["status"] == "Success" and row["exit_code"] == 0
        assert row["stdout"] == f"ran on {row['instance_id']}\n"
        assert row["document"] == "AWS-RunShellScript"


@pytest.mark.slow
def test_the_table_and_a_failure_make_exit_status_one(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    web1, windows = prod_instance("web-1"), prod_instance("win-ad-01")
    script = 'echo "line $AWS_SSM_INSTANCE_ID"; for n in 2 3 4 5; do echo "line $n"; done; exit 4'
    done = _run("--profile", "prod", "web-1", windows.instance_id, "--full", "--", script)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "INSTANCE" in out and "EXIT" in out and "Failed" in out
    assert web1.instance_id in out and "win-ad-01" in out
    assert "… 2 more line(s)" in out  # the table shows the first lines only
    assert f"==> web-1 ({web1.instance_id}): Failed <==" in out
    assert "line 5" in out  # --full shows all of it
    assert "0 of 2 instance(s) succeeded" in out


@pytest.mark.slow
def test_the_windows_instance_gets_powershell_and_offline_ones_are_reported(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    done = _run("--profile", "prod", "win-ad-01", "batch-worker", "--json", "--", "echo hi")
    assert done.returncode == 1  # batch-worker is not connected: not everything succeeded
    rows = {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["win-ad-01"]["document"] == "AWS-RunPowerShellScript"
    assert rows["win-ad-01"]["status"] == "Success"
    assert (
        rows["batch-worker"]["status"] == "NotConnected"
        and rows["batch-worker"]["command_id"] == ""
    )


@pytest.mark.slow
def test_bad_usage_is_a_message_not_a_traceback(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    for args, message in [
        (("web-1",), "no script given"),
        (("--", "true"), "choose instances"),
        (("web-1", "--max-concurrency", "0", "--", "true"), "--max-concurrency 0"),
        (("no-such-host", "--", "true"), "no managed instance is named 'no-such-host'"),
        (("--filter", "tag:Nope=1", "--", "true"), "no instance matches"),
    ]:
        done = _run("--profile", "prod", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr
