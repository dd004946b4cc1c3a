"""Fixtures for the fault tests: `ssm-tui` run as a user runs it, against the real sandbox.

`cli` runs `python -m ssm_tui.cli` as a subprocess with this test's environment (the sandbox's
AWS_* variables, a temporary HOME), optionally with extra profiles appended to the sandbox's AWS
config: the hostile configurations of issue 13 (a hanging `credential_process`, a source_profile
loop) are real files read by real botocore in a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ssm_tui.aws import accounts, clients, profiles

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    clients.forget_sessions()
    accounts.forget()
    profiles.clear_discovered()


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ssm_tui.cli", *args]


@pytest.fixture
def config_with(  # type: ignore[no-untyped-def]
    sandbox_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """Write the sandbox's AWS config plus `extra` into this test's own file, and use it."""

    def write(extra: str) -> Path:
        base = Path(sandbox_env.env["AWS_CONFIG_FILE"]).read_text(encoding="utf-8")
        path = tmp_path / "aws-config"
        path.write_text(base + "\n" + extra, encoding="utf-8")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
        return path

    return write


@pytest.fixture
def cli(sandbox_env) -> Run:  # type: ignore[no-untyped-def]
    """`ssm-tui ARGS` in a subprocess; a hang fails the test (TimeoutExpired) instead of the run."""

    def run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command(*args),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="strict",  # invalid UTF-8 on either stream fails the test
            env={**os.environ, **env},
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains `marker` (leftover helper processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="session")
def world(sandbox):  # type: ignore[no-untyped-def]
    """The sandbox's seeded fleet, rebuilt from its seed (the oracle)."""
    from ssm_tui.sandbox.world import build_world

    return build_world(seed=sandbox.info["seed"], count=sandbox.info["instances"])
