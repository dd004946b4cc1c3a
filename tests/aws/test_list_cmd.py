"""`ssm-tui list` as a user runs it: a real subprocess against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ssm_tui.cli import main
from ssm_tui.store import Store


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The same command in-process (cheaper than a subprocess; output captured)."""
    code = main(["list", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "list", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


@pytest.mark.slow
def test_json_lines_cover_every_profile_and_update_the_cache(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    done = _run("--json", "--by-profile", "--regions", "us-east-1,eu-west-1")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    seen = {(r["profile"], r["instance_id"]) for r in rows}
    account_of = {"sandbox": "111111111111", "prod": "222222222222", "dev": "333333333333",
                  "prod-readonly": "222222222222", "sso-dev": "333333333333"}  # fmt: skip
    expected = {
        (profile, i.instance_id)
        for profile, account in account_of.items()
        for region in ("us-east-1", "eu-west-1")
        for i in world.managed(account, region)
    }
    assert seen == expected
    assert {"name", "ping_status", "region", "account_id", "tags", "last_ping"} <= set(rows[0])
    cached = Store().load_inventory()
    assert len(cached) == 10 and all(r.from_cache for r in cached)


def test_filter_and_one_profile(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _main(capsys, "--json", "--profile", "prod", "--filter", "WEB-")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["profile"] == "prod" for r in rows)
    assert all("web-" in r["name"].lower() or any("web-" in v.lower() for v in r["tags"].values())
               for r in rows)  # fmt: skip


def test_failed_profile_exits_non_zero_with_hint_on_stderr(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    sandbox_env.set_faults(broken_profile="dev")
    try:
        code, out, err = _main(capsys, "--profile", "dev", "--profile", "sandbox")
    finally:
        sandbox_env.reset_faults()
    assert code == 1
    assert "dev (eu-west-1)" in err and "expired" in err.lower()
    assert "hint:" in err
    assert "bastion" in out  # the sandbox profile still listed


def test_unknown_profile_lists_the_known_ones(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _main(capsys, "--profile", "prdo")
    assert code == 2
    assert "unknown profile 'prdo'" in err
    assert "did you mean 'prod'" in err and "sso-dev" in err


@pytest.mark.slow
def test_table_shows_aws_text_literally(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    done = _run("--regions", "us-east-1,eu-west-1", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout  # not a terminal: no styling, and tag escapes are not obeyed
    # the count is for the person (stderr); piped stdout holds only the rows (issue 13)
    assert "instance(s)" in done.stderr and "instance(s)" not in done.stdout
    assert "[bold red]web-3[/]" in done.stdout  # markup in a Name tag is text, not style
    assert "acme-prod" in done.stdout  # account aliases resolved
    assert not Store().load_inventory()


def test_filter_matches_tag_values(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _main(capsys, "--json", "--profile", "prod", "--filter", "red alert")
    assert code == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["name"] == "warehouse-scanner"
    assert row["tags"]["Note"] == "\x1b[31mRED ALERT\x1b[0m"
    assert "\x1b" not in out  # JSON escapes it


def test_discover_adds_the_accounts_sso_reaches(sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _main(capsys, "--json", "--by-profile", "--discover", "--no-cache")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    discovered = {r["profile"] for r in rows} - set(sandbox_env.profiles)
    assert discovered, "SSO discovery added profiles"
    assert all("/" in name for name in discovered)
    reached = {r["account_id"] for r in rows if r["profile"] in discovered}
    assert {"111111111111", "222222222222"} <= reached
