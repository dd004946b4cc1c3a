"""The app's RDP action (`R` on a Windows row), through the real sandbox.

3389 of win-ad-01 is forwarded to a free local port and the RDP client found on PATH starts on
it: here a small stand-in for xfreerdp that does an RDP client's first exchange (X.224
Connection Request, then reads the server's Connection Confirm) through the real forward. The
password comes only on request: `p` asks for the key file (none in the settings), a wrong key
says so, the seeded key pair's shows the password the sandbox set, and `y` copies it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from textual.widgets import Input, Static

from ssm_tui.sandbox import windows_password
from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.rdp import RdpScreen
from tests.app_steps import highlight
from tests.run16.conftest import prod_instance
from tests.run16.test_rdp import CONNECTION_REQUEST
from tests.run16.test_rdp_password import _other_rsa_key

from .conftest import wait_until

SIZE = (160, 40)


def _fake_client(bin_dir: Path, seen: Path) -> None:
    bin_dir.mkdir()
    client = bin_dir / "xfreerdp"
    client.write_text(
        f"#!{sys.executable}\n"
        "import socket, sys\n"
        "host, port = sys.argv[1][3:].rsplit(':', 1)\n"
        "sock = socket.create_connection((host, int(port)), timeout=30)\n"
        f"sock.sendall({CONNECTION_REQUEST!r})\n"
        "answer = sock.recv(100)\n"
        f"open({str(seen)!r} + '.part', 'wb').write(answer + ' '.join(sys.argv[2:]).encode())\n"
        "import os\n"
        f"os.rename({str(seen)!r} + '.part', {str(seen)!r})\n"
    )
    client.chmod(0o755)


def _text(screen: RdpScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_rdp_forwards_starts_the_client_and_gives_the_password_on_request(
    sandbox_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = prod_instance("win-ad-01")
    seen = tmp_path / "seen.bin"
    _fake_client(tmp_path / "bin", seen)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    wrong = _other_rsa_key(tmp_path / "other.pem")
    seeded = Path(sandbox_env.directory) / windows_password.KEY_FILE
    ssm = boto3.Session(profile_name="prod").client("ssm")

    def active() -> list[dict]:
        return ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": win.instance_id}]
        )["Sessions"]

    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, "win-ad-01")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RdpScreen), "the RDP screen")
        screen = app.screen
        assert isinstance(screen, RdpScreen)
        await wait_until(pilot, lambda: "listening on 127.0.0.1:" in _text(screen, "#rdp-address"),
                         "the forward")  # fmt: skip
        port = screen.forward.status.local_port  # type: ignore[union-attr]
        assert "user Administrator" in _text(screen, "#rdp-address")
        await wait_until(pilot, seen.exists, "the RDP client's exchange")
        answer = seen.read_bytes()
        assert answer[:2] == b"\x03\x00" and answer[5] == 0xD0, answer  # X.224 Connection Confirm
        assert answer.endswith(b"/u:Administrator /cert:ignore")
        assert f"/v:127.0.0.1:{port}" in _text(screen, "#rdp-client")
        assert [s["DocumentName"] for s in active()] == ["AWS-StartPortForwardingSession"]

        password = windows_password.administrator_password(win)
        assert password not in _text(screen, "#rdp-password")  # only on request
        await pilot.press("p")
        box = screen.query_one("#rdp-key", Input)
        await wait_until(pilot, lambda: box.display and box.has_focus, "the key file question")
        box.value = str(wrong)
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: "does not decrypt this instance's password" in _text(screen, "#rdp-password"),
            "the wrong key's message",
        )
        await pilot.press("p")
        await wait_until(pilot, lambda: box.display and box.has_focus, "asked again")
        box.value = str(seeded)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: password in _text(screen, "#rdp-password"), "the password shown"
        )
        await pilot.press("y")
        await wait_until(pilot, lambda: app.clipboard == password, "the password copied")
        await app.action_quit()
    assert not active(), "quitting the app ends the RDP forward's session"


async def test_rdp_on_a_linux_row_says_it_is_for_windows(sandbox_env: Any) -> None:
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, "web-1")
        await pilot.press("R")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, RdpScreen)
        notes = [str(n.message) for n in app._notifications]
        assert any("is a Linux instance: RDP is for Windows" in n for n in notes), notes
