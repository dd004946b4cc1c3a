"""End to end: `ssm-tui connect` with our plugin, in a real pty, against the sandbox process."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest

SSM_TUI = [sys.executable, "-m", "ssm_tui.cli"]
PROMPT = rb"\$ "


def linux_target(sandbox_env: Any) -> str:
    """An Online Linux instance of the `sandbox` profile (the default profile of the env)."""
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    infos = ssm.describe_instance_information()["InstanceInformationList"]
    for info in sorted(infos, key=lambda i: i["InstanceId"]):
        if info["PingStatus"] == "Online" and info["PlatformType"] == "Linux":
            return info["InstanceId"]
    raise AssertionError("the sandbox has no Online Linux instance for profile sandbox")


def spawn(args: list[str], **kwargs: Any) -> pexpect.spawn:
    return pexpect.spawn(
        args[0],
        args[1:],
        dimensions=(30, 100),
        timeout=30,
        env=dict(os.environ),
        maxread=65536,
        searchwindowsize=4096,
        **kwargs,
    )


def token_on_a_command_line(root: int) -> bool:
    """Whether any process under `root` (connect, the plugin) has the token JSON in its argv."""
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            if b"TokenValue" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
            pending += _children(pid)
        except OSError:
            continue
    return False


@pytest.mark.slow
def test_shell_commands_resize_ctrl_c_exit_and_terminal_restored(sandbox_env: Any) -> None:
    target = linux_target(sandbox_env)
    connect = shlex.join([*SSM_TUI, "connect", target, "--plugin", "builtin"])
    child = spawn(["/bin/sh", "-c", f"stty -g; {connect}; echo rc=$?; stty -g"])
    child.expect(rb"([0-9a-f:]+)\r\n")
    before = child.match.group(1)
    child.expect(PROMPT)
    assert _children(child.pid), "connect runs as a child of the shell"
    assert not token_on_a_command_line(child.pid)
    child.sendline(b"echo answer-$((6*7))")
    child.expect(rb"answer-42")
    child.expect(PROMPT)
    child.setwinsize(40, 120)  # SIGWINCH: the plugin sends the new size at once
    child.sendline(b"stty size")
    child.expect(rb"40 120")
    child.expect(PROMPT)
    child.sendline(b"sleep 60")
    child.expect(rb"sleep 60\r\n")
    child.send(b"\x03")  # raw mode: Ctrl-C travels as a byte and interrupts the remote sleep
    child.expect(PROMPT)
    child.sendline(b"echo after-interrupt")
    child.expect(rb"after-interrupt\r\n")
    child.sendline(b"exit")
    child.expect(rb"rc=(\d+)")
    assert child.match.group(1) == b"0"
    child.expect(rb"([0-9a-f:]+)\r\n")
    assert child.match.group(1) == before
    child.expect(pexpect.EOF)


@pytest.mark.slow
def test_ten_megabytes_of_output_arrive_byte_exact(sandbox_env: Any) -> None:
    child = spawn([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    child.expect(PROMPT)
    child.sendline(b"stty -echo; seq 1 1500000 | sha256sum; echo BEGIN; seq 1 1500000; echo END")
    child.expect(rb"([0-9a-f]{64})  -")
    remote_digest = child.match.group(1).decode()
    child.expect_exact(b"BEGIN\r\n")
    child.expect_exact(b"END\r\n", timeout=120)
    received = child.before.replace(b"\r\n", b"\n")  # the remote pty's onlcr
    assert len(received) > 10_000_000
    assert hashlib.sha256(received).hexdigest() == remote_digest
    child.sendline(b"exit")
    child.expect(pexpect.EOF, timeout=90)  # the sandbox writes a 10 MB transcript first
    child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
def test_command_returns_the_remote_status(sandbox_env: Any) -> None:
    target = linux_target(sandbox_env)
    failed = subprocess.run(
        [*SSM_TUI, "connect", target, "--command", "echo to-stdout; exit 3"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert failed.returncode == 3, failed.stderr
    assert b"to-stdout" in failed.stdout
    ok = subprocess.run(
        [*SSM_TUI, "connect", target, "--command", "true"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr


def test_unknown_target_name_is_a_clear_error(sandbox_env: Any) -> None:
    result = subprocess.run(
        [*SSM_TUI, "connect", "no-such-name", "--command", "true"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 255
    assert "no managed instance is named 'no-such-name'" in result.stderr  # in any profile


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.mark.slow
async def test_port_forwarding_two_concurrent_connections(sandbox_env: Any) -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        *SSM_TUI,
        "connect",
        linux_target(sandbox_env),
        "--plugin",
        "builtin",
        "--document",
        "AWS-StartPortForwardingSession",
        "--parameters",
        f'{{"portNumber":["{port}"],"localPortNumber":["0"]}}',
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
        local = int(re.search(rb"Port (\d+) opened", line).group(1))

        async def exchange(tag: bytes) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", local)
            payload = tag * 50_000
            writer.write(payload)
            await writer.drain()
            got = await reader.readexactly(len(payload))
            writer.close()
            return got

        async with asyncio.timeout(30):
            first, second = await asyncio.gather(exchange(b"a"), exchange(b"b"))
        assert first == b"a" * 50_000 and second == b"b" * 50_000
        os.killpg(proc.pid, 2)  # Ctrl-C: Flag TerminateSession, exit 0
        async with asyncio.timeout(30):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        server.close()


@pytest.mark.slow
async def test_ssh_session_is_a_stdin_stdout_stream(sandbox_env: Any) -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        *SSM_TUI,
        "connect",
        linux_target(sandbox_env),
        "--plugin",
        "builtin",
        "--document",
        "AWS-StartSSHSession",
        "--parameters",
        f'{{"portNumber":["{port}"]}}',
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        payload = os.urandom(200_000)
        proc.stdin.write(payload)
        await proc.stdin.drain()
        async with asyncio.timeout(30):
            assert await proc.stdout.readexactly(len(payload)) == payload
        proc.stdin.close()
        async with asyncio.timeout(30):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        server.close()


@pytest.mark.slow
async def test_ssh_client_speaks_through_it_as_proxy_command(sandbox_env: Any) -> None:
    """No sshd here: a peer that sends an SSH banner shows ssh talked through our stream."""
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client installed")

    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-ssmtui_fake_peer\r\n")
        await writer.drain()
        await reader.read(65536)  # the client's banner and KEXINIT
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = shlex.join(
        [
            *SSM_TUI,
            "connect",
            linux_target(sandbox_env),
            "--plugin",
            "builtin",
            "--document",
            "AWS-StartSSHSession",
            "--parameters",
            f'{{"portNumber":["{port}"]}}',
        ]
    ).replace("%", "%%")
    proc = await asyncio.create_subprocess_exec(
        "ssh",
        "-v",
        "-F",
        "/dev/null",
        "-o",
        f"ProxyCommand={proxy}",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "ec2-user@sandbox-host",
        "true",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            _, err = await proc.communicate()
        assert b"remote software version ssmtui_fake_peer" in err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        server.close()


@pytest.mark.slow
def test_aws_cli_runs_our_plugin_in_the_environment_form(sandbox_env: Any, tmp_path: Path) -> None:
    """aws-cli finds `session-manager-plugin` on PATH: ours, behind a wrapper that notes argv[1]."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "session-manager-plugin"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] || printf %s "$1" > {shlex.quote(str(tmp_path / "argv1"))}\n'
        f'exec {shlex.quote(sys.executable)} -m ssm_tui.plugin.main "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    aws = str(Path(sys.executable).parent / "aws")
    result = subprocess.run(
        [
            aws,
            "ssm",
            "start-session",
            "--target",
            linux_target(sandbox_env),
            "--document-name",
            "AWS-StartNonInteractiveCommand",
            "--parameters",
            "command=echo via-aws-cli",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert b"via-aws-cli" in result.stdout
    assert b"outdated" not in result.stderr
    assert (tmp_path / "argv1").read_text() == "AWS_SSM_START_SESSION_RESPONSE"


@pytest.mark.slow
def test_dropped_websockets_are_resumed_without_losing_output(sandbox_env: Any) -> None:
    """The sandbox drops every socket after 1.5 s; ResumeSession + reconnect carry on."""
    child = spawn([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    child.expect(PROMPT)
    try:
        sandbox_env.set_faults(drop_sessions_after=1.5)
        child.sendline(b"for i in 1 2 3 4; do sleep 1; echo tick-$i; done; echo done-$((40+2))")
        for i in range(1, 5):
            child.expect(b"tick-%d\r\n" % i)
        child.expect(b"done-42")
    finally:
        sandbox_env.reset_faults()
    child.expect(PROMPT)
    child.sendline(b"exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


@pytest.mark.slow
def test_killed_plugin_leaves_no_session_behind(sandbox_env: Any) -> None:
    child = spawn([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    child.expect(rb"SessionId: ([\w-]+)")
    session_id = child.match.group(1).decode()
    child.expect(PROMPT)
    (plugin_pid,) = _children(child.pid)
    os.kill(plugin_pid, 9)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + 9
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    active = ssm.describe_sessions(State="Active")["Sessions"]
    assert session_id not in {s["SessionId"] for s in active}
    history = ssm.describe_sessions(State="History")["Sessions"]
    assert session_id in {s["SessionId"] for s in history}


@pytest.mark.slow
def test_sigterm_restores_the_terminal(sandbox_env: Any) -> None:
    connect = shlex.join([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    child = spawn(["/bin/sh", "-c", f"stty -g; {connect}; echo rc=$?; stty -g"])
    child.expect(rb"([0-9a-f:]+)\r\n")
    before = child.match.group(1)
    child.expect(PROMPT)
    (connect_pid,) = _children(child.pid)
    (plugin_pid,) = _children(connect_pid)
    os.kill(plugin_pid, 15)
    child.expect(rb"rc=(\d+)")
    assert child.match.group(1) == b"143"
    child.expect(rb"([0-9a-f:]+)\r\n")
    assert child.match.group(1) == before
    child.expect(pexpect.EOF)


@pytest.mark.slow
def test_expired_credentials_are_explained(sandbox_env: Any) -> None:
    target = linux_target(sandbox_env)
    try:
        sandbox_env.set_faults(broken_profile="sandbox")
        result = subprocess.run(
            [*SSM_TUI, "connect", target, "--command", "true"],  # AWS_PROFILE=sandbox
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sandbox_env.reset_faults()
    assert result.returncode == 255
    assert "expired" in result.stderr
    assert "--profile sandbox" in result.stderr  # the hint names the command that fixes it
    assert "Traceback" not in result.stderr
