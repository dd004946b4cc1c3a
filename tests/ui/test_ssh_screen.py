"""The app's ssh action (`ctrl+s`): a pane running OpenSSH over Session Manager to the highlighted
instance, through the real sandbox (its sshd, EC2 Instance Connect, our plugin as ProxyCommand).
Going back ends ssh, and with it the session: none stays Active."""

from __future__ import annotations

import shutil

import boto3
import pytest

from ssm_tui.ui.app import SsmTuiApp
from ssm_tui.ui.screens.ssh import SshScreen
from ssm_tui.ui.widgets.terminal import TerminalPane
from tests.app_steps import highlight

from .conftest import wait_until

SIZE = (140, 40)

pytestmark = pytest.mark.skipif(
    shutil.which("ssh") is None, reason="OpenSSH's ssh is not installed (Debian: openssh-client)"
)


async def test_ssh_pane_logs_in_and_going_back_ends_the_session(sandbox_env):
    app = SsmTuiApp()
    async with app.run_test(size=SIZE) as pilot:
        fleet = await highlight(pilot, "web-1")
        instance = fleet.table.cursor_row.instance
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SshScreen), "the ssh screen")
        pane = app.screen.query_one(TerminalPane)
        try:
            await wait_until(pilot, lambda: "$" in pane.screen_text(), "a shell prompt over ssh")
        except AssertionError:
            print("SCREEN", repr(pane.screen_text()))
            raise
        await pilot.press(*"echo ssh-$USER-$AWS_SSM_INSTANCE_ID", "enter")
        expected = f"ssh-ec2-user-{instance.instance_id}"
        await wait_until(pilot, lambda: expected in pane.screen_text(), "the command's output")
        ssm = boto3.Session(profile_name="prod").client("ssm")

        def active() -> list[dict]:
            return ssm.describe_sessions(
                State="Active", Filters=[{"key": "Target", "value": instance.instance_id}]
            )["Sessions"]

        assert [s["DocumentName"] for s in active()] == ["AWS-StartSSHSession"]
        await pilot.press("ctrl+right_square_bracket", "escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SshScreen), "back")
        await wait_until(pilot, lambda: not active(), "the ssh session to end")
