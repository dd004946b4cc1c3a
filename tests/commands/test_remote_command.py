"""`ssm-tui connect TARGET --command CMD` against the real sandbox, which runs commands as the
agent does (AWS documents as published: no exit status, NonInteractiveCommands without a shell)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from typing import Any

import boto3
import pytest

from ssm_tui.commands.remote_command import READY, FramedOutput, wrapper

SSM_TUI = [sys.executable, "-m", "ssm_tui.cli"]


def linux_target(sandbox_env: Any) -> str:
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    infos = ssm.describe_instance_information()["InstanceInformationList"]
    for info in sorted(infos, key=lambda i: i["InstanceId"]):
        if info["PingStatus"] == "Online" and info["PlatformType"] == "Linux":
            return info["InstanceId"]
    raise AssertionError("the sandbox has no Online Linux instance for profile sandbox")


def connect(target: str, command: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*SSM_TUI, "connect", target, "--command", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=90,
        **kwargs,
    )


def test_any_shell_command_line_with_split_streams_and_the_status(sandbox_env: Any) -> None:
    result = connect(
        linux_target(sandbox_env),
        """X='a b'; echo "got $X" | tr a-z A-Z && printf 'two\\nlines\\n'; echo oops >&2; exit 7""",
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout == b"GOT A B\ntwo\nlines\n"  # LF only, nothing else
    assert result.stderr == b"oops\n"


@pytest.mark.slow
def test_success_and_a_signal_death_are_reported_as_the_shell_does(sandbox_env: Any) -> None:
    target = linux_target(sandbox_env)
    ok = connect(target, "true")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, b"", b"")
    killed = connect(target, "kill -TERM $$")
    assert killed.returncode == 128 + 15, killed.stderr


@pytest.mark.slow
def test_output_cannot_forge_the_trailer(sandbox_env: Any) -> None:
    # stdout that looks like a trailer (any nonce but the secret one) is just stdout
    fake = "printf '%032x 0 0\\n' 0; printf 'ssm-tui:ready\\n'; exit 9"
    result = connect(linux_target(sandbox_env), fake)
    assert result.returncode == 9, result.stderr
    assert result.stdout == b"0" * 32 + b" 0 0\nssm-tui:ready\n"


@pytest.mark.slow
def test_no_status_is_never_success(sandbox_env: Any) -> None:
    """TerminateSession from elsewhere mid-command: exit 255 with a message, not 0."""
    target = linux_target(sandbox_env)
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    before = {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}
    proc = subprocess.Popen(
        [*SSM_TUI, "connect", target, "--command", "echo started; sleep 60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"started\n"
        mine = [
            s["SessionId"]
            for s in ssm.describe_sessions(State="Active")["Sessions"]
            if s["SessionId"] not in before and s["Target"] == target
        ]
        assert len(mine) == 1
        ssm.terminate_session(SessionId=mine[0])
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 255, (rest, stderr)
    assert b"without reporting the command's exit status" in stderr
    assert b"Traceback" not in stderr


@pytest.mark.slow
def test_a_received_status_stands_when_the_connection_drops(sandbox_env: Any) -> None:
    """Sockets dropped every 0.5 s while the command runs and ends: the status arrives anyway."""
    target = linux_target(sandbox_env)
    try:
        sandbox_env.set_faults(drop_sessions_after=0.5)
        result = connect(target, "for i in 1 2 3; do echo tick-$i; sleep 0.4; done; exit 4")
    finally:
        sandbox_env.reset_faults()
    assert result.returncode == 4, result.stderr
    assert result.stdout == b"tick-1\ntick-2\ntick-3\n"


def test_the_wrapper_runs_under_a_plain_posix_sh() -> None:
    """The wrapper itself, in a pty under dash: what the agent does with `sh -c`."""
    import pty

    nonce = b"f" * 32
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv("/bin/sh", ["sh", "-c", wrapper("echo out; echo err >&2; exit 3")])
    seen = bytearray()
    while READY not in seen:
        seen += os.read(fd, 4096)
    os.write(fd, nonce + b"\n")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    os.waitpid(pid, 0)
    assert seen.endswith(READY + b"out\n" + nonce + b" 3 4\nerr\n")
    assert nonce not in seen[: seen.index(READY)]  # never echoed


def test_framing_survives_any_chunking() -> None:
    nonce = b"0123456789abcdef" * 2
    stream = (
        b"noise before\r\n" + READY + b"out\n\n" + b"9" * 32 + b" 1 1\n"  # a forged trailer
        b"more out 0123" + nonce + b" 42 5\n" + b"e\nrr\n"
    )
    rng = random.Random(7)
    for _ in range(200):
        out, err = bytearray(), bytearray()
        framed = FramedOutput(nonce, out.extend, err.extend)
        at = 0
        while at < len(stream):
            step = rng.randint(1, 9)
            framed.feed(stream[at : at + step])
            at += step
        assert framed.complete and framed.status == 42
        assert bytes(out) == b"out\n\n" + b"9" * 32 + b" 1 1\nmore out 0123"
        assert bytes(err) == b"e\nrr\n"
        assert bytes(framed.before_ready) == b"noise before\r\n"
