"""`ssm-tui cp` over the shell channel: a hybrid `mi-` node (no Instance Connect, so no ssh key
of ours) gets its file through AWS-StartInteractiveCommand's pty in raw mode, both ways, byte-exact:
every byte value, including the ones a terminal would act on (^C, ^D, ^Z, CR, ESC, `~.`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.run16.conftest import prod_instance, wait_no_active

PI = "raspberrypi-kitchen"  # prod's Online hybrid node


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", *args],
        capture_output=True, text=True, env=dict(os.environ), timeout=180,
    )  # fmt: skip


def test_cp_to_and_from_a_hybrid_node_over_the_shell_channel(aws: Any, tmp_path: Path) -> None:
    pi = prod_instance(PI)
    assert pi.instance_id.startswith("mi-")
    payload = (
        b"\r\n~.\x03\x04\x1a\x1b[2J\x11\x13\x00" + bytes(range(256)) * 300 + os.urandom(200_000)
    )
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    done = _cli("cp", "--profile", "prod", str(source), f"{PI}:copied.bin")
    assert done.returncode == 0, done.stderr
    check = _cli(
        "connect", pi.instance_id, "--profile", "prod", "--command", "sha256sum copied.bin"
    )
    assert check.stdout.split()[0] == hashlib.sha256(payload).hexdigest(), check.stderr
    back = tmp_path / "back"
    back.mkdir()
    done = _cli("cp", "--profile", "prod", f"{PI}:copied.bin", str(back))
    assert done.returncode == 0, done.stderr
    assert (back / "copied.bin").read_bytes() == payload
    assert not list(back.glob("*.ssm-tui-part"))
    ssm = aws("ssm")
    wait_no_active(ssm, pi.instance_id, "the copy sessions to end")


def test_a_shell_copy_that_fails_says_why_and_leaves_nothing(
    tmp_path: Path, sandbox_env: Any
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    done = _cli("cp", "--profile", "prod", "--shell", str(source), "web-1:/no-such-dir/f.txt")
    assert done.returncode == 1
    assert "cannot create /no-such-dir/f.txt" in done.stderr, done.stderr  # the shell's words
    assert "Traceback" not in done.stderr
    local = tmp_path / "missing.bin"
    done = _cli("cp", "--profile", "prod", "--shell", "web-1:no-such-file", str(local))
    assert done.returncode == 1 and "No such file or directory" in done.stderr
    assert not local.exists() and not list(tmp_path.glob("*.ssm-tui-part"))
    done = _cli("cp", "--profile", "prod", "-r", str(tmp_path), f"{PI}:dir")
    assert done.returncode == 255 and "-r needs ssh" in done.stderr
