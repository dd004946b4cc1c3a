"""`ssm-tui rdp`: port 3389 of a Windows instance forwarded, and the RDP client started on it.

The sandbox's Windows instances answer an RDP client's first packet (an X.224 Connection Request
in TPKT, [MS-RDPBCGR] 2.2.1.1) with a Connection Confirm, so a real TCP client through the real
forward tells it reached an RDP server. `--launch` starts the client found on PATH: here a small
script standing in for xfreerdp that does exactly that first exchange on its `/v:` address.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from ssm_tui.commands.rdp import client_command
from ssm_tui.sandbox.rdp import confirm_for
from tests.run16.conftest import prod_instance, wait_no_active

CONNECTION_REQUEST = (
    b"\x03\x00\x00\x13"  # TPKT, 19 bytes
    b"\x0e\xe0\x00\x00\x00\x00\x00"  # X.224 Connection Request
    b"\x01\x00\x08\x00\x03\x00\x00\x00"  # RDP_NEG_REQ: TLS | CredSSP
)


def _confirm(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(CONNECTION_REQUEST)
        answer = b""
        while chunk := sock.recv(100):
            answer += chunk
        return answer


def test_a_confirm_answers_the_clients_request() -> None:
    answer = confirm_for(CONNECTION_REQUEST)
    assert answer is not None
    assert answer[:4] == struct.pack(">BBH", 3, 0, len(answer))
    assert answer[5] == 0xD0  # Connection Confirm
    assert answer[-8:] == struct.pack("<BBHI", 2, 0, 8, 2)  # negotiation response: CredSSP
    assert confirm_for(b"GET / HTTP/1.1\r\n\r\n") is None


def test_rdp_forwards_3389_of_a_windows_instance(aws: Any) -> None:
    win = prod_instance("win-ad-01")
    process = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = int(re.search(r"on 127\.0\.0\.1:(\d+) as Administrator", first).group(1))  # type: ignore[union-attr]
        assert f"({win.instance_id})" in first
        answer = _confirm(port)
        assert answer[:2] == b"\x03\x00" and answer[5] == 0xD0, answer
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
    assert code == 0, process.stderr.read() if process.stderr else ""
    ssm = aws("ssm")
    wait_no_active(ssm, win.instance_id, "the RDP forward's session to end")


def test_launch_starts_the_client_on_the_forward(sandbox_env: Any, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen.bin"
    client = bin_dir / "xfreerdp"
    client.write_text(
        f"#!{sys.executable}\n"
        "import socket, sys\n"
        "host, port = sys.argv[1][3:].rsplit(':', 1)\n"
        "sock = socket.create_connection((host, int(port)), timeout=30)\n"
        f"sock.sendall({CONNECTION_REQUEST!r})\n"
        "answer = sock.recv(100)\n"
        f"open({str(seen)!r}, 'wb').write(answer + ' '.join(sys.argv[2:]).encode())\n"
        "sys.exit(3)\n"
    )
    client.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod",
         "--launch", "--user", "ops"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # the client's status
    answer = seen.read_bytes()
    assert answer[5] == 0xD0 and answer.endswith(b"/u:ops /cert:ignore")


def test_rdp_refuses_a_linux_instance(sandbox_env: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "web-1", "--profile", "prod"],
        capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "is a Linux instance" in done.stderr and "Traceback" not in done.stderr


def test_the_client_per_platform() -> None:
    def which(name: str) -> str | None:
        return {"open": "/usr/bin/open", "mstsc": "mstsc", "wlfreerdp": "/usr/bin/wlfreerdp"}.get(
            name
        )

    assert client_command(4000, "Administrator", "darwin", which) == [
        "open",
        "rdp://full%20address=s:127.0.0.1:4000&username=s:Administrator",
    ]
    assert client_command(4000, "a", "win32", which) == ["mstsc", "/v:127.0.0.1:4000"]
    assert client_command(4000, "a", "linux", which) == [
        "/usr/bin/wlfreerdp", "/v:127.0.0.1:4000", "/u:a", "/cert:ignore",
    ]  # fmt: skip
    assert client_command(4000, "a", "linux", lambda _name: None) is None
