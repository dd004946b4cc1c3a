"""A port-forward whose local port is taken: one clear error, no traceback, no session left."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import boto3
import pytest

from tests.plugin.test_sandbox_sessions import SSM_TUI, linux_target


@pytest.mark.slow
def test_taken_local_port_is_one_clear_error_and_ends_the_session(sandbox_env: Any) -> None:
    target = linux_target(sandbox_env)
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    before = {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *SSM_TUI,
                "connect",
                target,
                "--plugin",
                "builtin",
                "--document",
                "AWS-StartPortForwardingSession",
                "--parameters",
                f'{{"portNumber":["80"],"localPortNumber":["{port}"]}}',
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 255, output
    assert f"local port {port} is already in use" in output
    assert "Traceback" not in output
    assert "opened for sessionId" not in output  # never claimed as working
    left = {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]} - before
    assert not left


@pytest.mark.slow
async def test_app_shows_the_error_and_no_success_notification(sandbox_env: Any) -> None:
    from ssm_tui.ui.app import SsmTuiApp
    from ssm_tui.ui.widgets.session_view import SessionView
    from tests.app_steps import show_linux_instances
    from tests.ui.conftest import wait_until

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        app = SsmTuiApp()
        async with app.run_test(size=(140, 40)) as pilot:
            _fleet, screen = await show_linux_instances(pilot)
            await pilot.press("c")
            await pilot.pause(0.3)
            await pilot.click("#kind-port")
            await pilot.click("#remote-port")
            await pilot.press(*"80")
            await pilot.click("#local-port")
            await pilot.press(*str(port))
            await pilot.click("#connect")
            await wait_until(pilot, lambda: len(screen.query(SessionView)) == 1, "a port tab")
            view = screen.query(SessionView).first()
            await wait_until(pilot, lambda: view.state == "ended", "the plugin gave up")
            text = view.pane.screen_text()
            assert f"local port {port} is already in use" in text
            assert "Traceback" not in text
            await pilot.pause(0.3)
            notes = [str(n.message) for n in app._notifications]
            assert not [n for n in notes if n.startswith("Port forwarding on")], notes
            await wait_until(pilot, lambda: not app.live_sessions, "the session ended")
            await pilot.press("ctrl+q")
