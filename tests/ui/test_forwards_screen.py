"""The forwards screen (`F`): named forwards opened from the app, through the real sandbox.

A `[forwards.echo]` reaches a TCP echo server on this machine (the sandbox's pretend network
maps the remote host to loopback) through web-1: bytes go through the app's real local port,
the status line counts them, the service closing the socket (the sandbox's socket-lifetime
fault) shows `reconnecting` and comes back on the same port, TerminateSession from outside
makes a new session on the same port, and quitting the app ends the forward's session.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import boto3
from textual.widgets import OptionList

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.forwards import ForwardsScreen
from tests.clients import echo_server
from tests.run16.conftest import prod_instance

from .conftest import wait_for_fleet, wait_until

SIZE = (160, 40)


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


def _settings(home: Path, text: str) -> None:
    path = home / ".config" / "ssm-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _line(screen: ForwardsScreen, index: int = 0) -> str:
    options = screen.query_one(OptionList)
    return str(options.get_option_at_index(index).prompt)


async def test_a_named_forward_opens_counts_bytes_survives_the_socket_and_ends_with_the_app(
    sandbox_env: Any, clean_aws_env: Path
) -> None:
    web1 = prod_instance("web-1")
    echo = echo_server()
    _settings(
        clean_aws_env,
        '[forwards.echo]\ntarget = "web-1"\nprofile = "prod"\nremote_host = "10.20.30.40"\n'
        f"remote_port = {echo.getsockname()[1]}\n"
        '[forwards.nowhere]\ntarget = "no-such-node"\nremote_port = 1\n',
    )
    ssm = boto3.Session(profile_name="prod").client("ssm")

    def active() -> list[dict]:
        return ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": web1.instance_id}]
        )["Sessions"]

    app = SsmTuiApp()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_fleet(pilot)
            await pilot.press("F")
            await wait_until(pilot, lambda: isinstance(app.screen, ForwardsScreen), "forwards")
            screen = app.screen
            assert isinstance(screen, ForwardsScreen)
            closed = "○ echo  closed  127.0.0.1:free port -> 10.20.30.40:"
            assert _line(screen, 0).startswith(closed)
            assert _line(screen, 1).startswith("○ nowhere  closed")
            await pilot.press("down", "enter")  # a target the fleet does not have
            await wait_until(pilot, lambda: "failed" in _line(screen, 1), "nowhere failed")
            assert "no managed instance is named 'no-such-node'" in _line(screen, 1)

            await pilot.press("up", "enter")
            await wait_until(pilot, lambda: "listening" in _line(screen), "echo listening")
            forward = screen.manager.get("echo")
            assert forward is not None
            port = forward.status.local_port
            assert f"127.0.0.1:{port} -> 10.20.30.40:" in _line(screen)
            assert await asyncio.to_thread(_echo, port, b"hello") == b"hello"
            await wait_until(
                pilot, lambda: "1 conn (0 active) · in 5 B out 5 B" in _line(screen), "counts"
            )
            assert " · since " in _line(screen) and "sessions 1" in _line(screen)
            first = forward.status.session_id
            assert [s["SessionId"] for s in active()] == [first]

            # the service closes the data channel's socket: the same session resumes
            seen: list[str] = []  # the states the manager went through (it runs on the AWS thread)
            screen.manager.on_change = lambda changed: seen.append(changed.state)
            sandbox_env.set_faults(socket_lifetime=0.5)
            try:
                await wait_until(pilot, lambda: forward.status.reconnects >= 1, "a reconnect")
            finally:
                sandbox_env.reset_faults()
            await wait_until(
                pilot,
                lambda: "listening" in _line(screen) and "socket reconnects" in _line(screen),
                "listening again",
            )
            assert "reconnecting" in seen
            assert await asyncio.to_thread(_echo, port, b"again") == b"again"
            assert forward.status.session_id == first

            # the service ends the session: a new one on the same local port
            ssm.terminate_session(SessionId=first)
            await wait_until(
                pilot,
                lambda: "listening" in _line(screen) and "sessions 2" in _line(screen),
                "a new session",
            )
            assert seen.count("reconnecting") >= 2  # the pause before the new session
            assert forward.status.local_port == port
            assert await asyncio.to_thread(_echo, port, b"third") == b"third"
            await wait_until(pilot, lambda: "3 conn" in _line(screen), "three connections")
            assert [s["SessionId"] for s in active()] == [forward.status.session_id]

            await pilot.press("escape")  # leaving the screen keeps it open
            await wait_until(pilot, lambda: not isinstance(app.screen, ForwardsScreen), "back")
            assert forward.is_open
            await app.action_quit()
    finally:
        echo.close()
    assert not active(), "quitting the app leaves no forward session Active"
