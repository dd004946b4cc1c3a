"""`ssm-tui forward`: named port forwards through a managed node, kept open across sessions.

Through the sandbox: the remote host is reached by the node (the sandbox's pretend network maps
any non-loopback host to this machine's loopback, where the test's echo server listens), the
local port is real, and ending the session from outside (TerminateSession, as an admin or the idle
timeout would) makes the forward start a new session on the same port.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.clients import echo_server
from tests.run16.conftest import prod_instance, wait_for, wait_no_active


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _echo(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


class _Lines:
    """The forward's stderr, line by line, read on a thread (no blocking read in the test)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stderr is not None
        stream = process.stderr
        threading.Thread(target=lambda: [self._queue.put(x) for x in stream], daemon=True).start()

    def wait(self, text: str, after: int = 0) -> str:
        def found() -> str | None:
            while not self._queue.empty():
                self.seen.append(self._queue.get())
            return next((line for line in self.seen[after:] if text in line), None)

        return wait_for(found, what=f"{text!r} in {self.seen}")


def _settings(home: Path, text: str) -> None:
    path = home / ".config" / "ssm-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_named_forward_reaches_a_remote_host_and_survives_its_session(
    aws: Any, clean_aws_env: Path
) -> None:
    web1 = prod_instance("web-1")
    echo = echo_server()
    local = _free_port()
    _settings(
        clean_aws_env,
        f'[forwards.db]\ntarget = "web-1"\nprofile = "prod"\nremote_host = "10.20.30.40"\n'
        f"remote_port = {echo.getsockname()[1]}\nlocal_port = {local}\n",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "forward", "db"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=dict(os.environ),
    )  # fmt: skip
    lines = _Lines(process)
    ssm = aws("ssm")
    try:
        first = lines.wait(" open ")
        assert f"db: 127.0.0.1:{local} -> 10.20.30.40:" in first
        assert _echo(local, b"ping 1") == b"ping 1"
        active = ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": web1.instance_id}]
        )["Sessions"]
        assert [s["DocumentName"] for s in active] == ["AWS-StartPortForwardingSessionToRemoteHost"]
        assert active[0]["SessionId"] in first
        ssm.terminate_session(SessionId=active[0]["SessionId"])  # the service ends it
        lines.wait("restarting", after=len(lines.seen))
        second = lines.wait(" open ", after=len(lines.seen))
        assert active[0]["SessionId"] not in second
        assert "sessions 2" in second
        assert _echo(local, b"ping 2") == b"ping 2"  # the same local port, a new session
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        echo.close()
    assert code == 0
    stopped = lines.wait(" stopped ")
    assert "2 conn" in stopped and "in 12 B out 12 B" in stopped

    def sessions_ended() -> bool:
        return not ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": web1.instance_id}]
        )["Sessions"]

    wait_for(sessions_ended, what="the forward's sessions to be terminated")


def test_the_agents_denied_hosts_stop_the_forward_with_its_message(aws: Any) -> None:
    web1 = prod_instance("web-1")
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "forward", "web-1", "--profile", "prod",
         "--remote-host", "169.254.169.254", "--remote-port", "80"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert done.returncode == 255, done.stderr
    assert "Forwarding to IP address 169.254.169.254 is forbidden." in done.stderr
    assert "Traceback" not in done.stderr
    ssm = aws("ssm")
    wait_no_active(ssm, web1.instance_id, "the refused session to end")


def test_an_unknown_forward_name_lists_the_known_ones(
    sandbox_env: Any, clean_aws_env: Path
) -> None:
    _settings(clean_aws_env, '[forwards.db]\ntarget = "web-1"\nremote_port = 5432\n')
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "forward", "dbb"],
        capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no forward named 'dbb' (named forwards: db)" in done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "forward", "--list"],
        capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert listed.stdout == "db: 127.0.0.1:free port -> 5432 via web-1\n"


def test_a_misspelt_forward_key_is_refused_with_its_line(clean_aws_env: Path) -> None:
    from ssm_tui.aws.errors import ConfigError
    from ssm_tui.aws.settings import load_settings

    _settings(clean_aws_env, '[forwards.db]\ntarget = "web-1"\nremote_port = 1\nlocl_port = 2\n')
    try:
        load_settings()
    except ConfigError as exc:
        text = str(exc)
    else:
        raise AssertionError("a misspelt key was accepted")
    assert "locl_port" in text and "did you mean 'local_port'?" in text and "line 4" in text


def test_ssh_via_a_managed_node_reaches_a_host_behind_it(aws: Any, tmp_path: Path) -> None:
    """`ssm-tui ssh pi@192.168.1.23 --via raspberrypi-kitchen`: the host is on the node's LAN.

    In the sandbox the LAN is pretend: 192.168.1.23:22 is answered by the node's own sshd, which
    (like any host there) knows no Instance Connect, only its authorized_keys."""
    from ssm_tui.aws.ssh import new_key

    pi = prod_instance("raspberrypi-kitchen")
    key = new_key(tmp_path / "id_ed25519")
    public = Path(f"{key}.pub").read_text().strip()
    setup = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "connect", pi.instance_id, "--profile", "prod",
         "--command", f"mkdir -p .ssh && printf '%s\\n' '{public}' > .ssh/authorized_keys"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "ssh", "--profile", "prod",
         "--via", "raspberrypi-kitchen", "--identity", str(key), "pi@192.168.1.23",
         "-o", "BatchMode=yes", 'echo "$USER on $AWS_SSM_INSTANCE_ID"'],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, f"pi on {pi.instance_id}\n"), done.stderr
    ssm = aws("ssm")
    history = ssm.describe_sessions(
        State="History", Filters=[{"key": "Target", "value": pi.instance_id}]
    )["Sessions"]
    assert "AWS-StartPortForwardingSessionToRemoteHost" in {s["DocumentName"] for s in history}
    wait_no_active(ssm, pi.instance_id, "the forward's session to end")
