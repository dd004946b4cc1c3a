"""The official session-manager-plugin, through aws-cli, against the sandbox's agent.

Runs where a `session-manager-plugin` binary is on PATH (none ships with a registry: build it as
`shared/reference/building-the-official-plugin.md` says) and skips with that reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_remote_command import linux_target

pytestmark = pytest.mark.skipif(
    shutil.which("session-manager-plugin") is None,
    reason="the official session-manager-plugin is not on PATH",
)


def _aws(sandbox_env: Any, *args: str) -> subprocess.CompletedProcess[bytes]:
    """aws-cli with a stdin that stays open: the plugin quits at stdin EOF ("EOF")."""
    aws = str(Path(sys.executable).parent / "aws")
    read_end, write_end = os.pipe()
    try:
        return subprocess.run(
            [aws, "ssm", "start-session", "--target", linux_target(sandbox_env), *args],
            env=dict(os.environ),
            stdin=read_end,
            capture_output=True,
            timeout=90,
        )
    finally:
        os.close(read_end)
        os.close(write_end)


def test_non_interactive_command_is_split_not_run_by_a_shell(sandbox_env: Any) -> None:
    result = _aws(
        sandbox_env,
        "--document-name",
        "AWS-StartNonInteractiveCommand",
        "--parameters",
        "command=echo a && echo b",
    )
    assert result.returncode == 0, result.stderr  # the plugin always exits 0
    lines = result.stdout.replace(b"\r\n", b"\n").split(b"\n")
    assert b"a && echo b" in lines  # as on AWS: `&&` is an argument of echo
    assert b"a" not in lines and b"b" not in lines


def test_interactive_command_runs_in_sh(sandbox_env: Any) -> None:
    result = _aws(
        sandbox_env,
        "--document-name",
        "AWS-StartInteractiveCommand",
        "--parameters",
        "command=echo a && echo b",
    )
    assert result.returncode == 0, result.stderr
    assert b"\na\r\nb\r\n" in result.stdout  # a pty: CR LF
