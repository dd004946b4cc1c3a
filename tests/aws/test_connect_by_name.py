"""`ssm-tui connect NAME` finds the name in every profile's fleet, and explains offline ones
(issue 15): a real subprocess against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys


def _connect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "connect", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def test_a_name_of_another_profiles_account_is_found(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    # api-1 lives in the prod account: the default profile (the management account) has no
    # EC2 instance of that name, every profile's fleet has
    done = _connect("api-1", "--command", "hostname")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_an_offline_name_is_explained_without_starting_a_session(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    done = _connect("old-nas", "--command", "hostname")
    assert done.returncode == 255
    assert "Inactive" in done.stderr
    assert "last pinged" in done.stderr or "never connected" in done.stderr
    assert "Traceback" not in done.stderr
