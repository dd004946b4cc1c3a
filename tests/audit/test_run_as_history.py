"""Issue 17: the Run As user in history, from a source that knows it and marked with it.

Sessions started here: the local record keeps what the Run As preview read before the start.
Sessions from elsewhere: the agent's streamed CloudWatch events carry `runAsUser`. Otherwise "—".
Through the sandbox, whose shells are told the Run As user as the agent's would be.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ssm_tui.aws.clients import forget_sessions
from ssm_tui.aws.history import SessionSummary, fetch_history
from ssm_tui.aws.models import Scope, StartedSession
from ssm_tui.aws.models.history import describe_run_as as describe
from ssm_tui.plugin.client import DataChannelClient
from ssm_tui.store import Store
from ssm_tui.ui.widgets.history_panel import row_cells
from tests.audit.conftest import boto3_client, ssm_tui
from tests.history.conftest import linux_target, start_session

SHELL = "SSM-SessionManagerRunShell"
DEV = Scope("dev", "eu-west-1")


@pytest.fixture
def dev_prefs(aws: Any) -> Iterator[Callable[..., None]]:
    """Change dev's Session Manager preferences' inputs (all put back afterwards)."""
    ssm = boto3_client("ssm", "dev")
    original = ssm.get_document(Name=SHELL)

    def change(**inputs: Any) -> None:
        content = json.loads(original["Content"])
        content["inputs"].update(inputs)
        content["description"] = f"run-as test {uuid.uuid4().hex}"  # a new version each time
        version = ssm.update_document(
            Name=SHELL, Content=json.dumps(content), DocumentVersion="$LATEST"
        )["DocumentDescription"]["DocumentVersion"]
        ssm.update_document_default_version(Name=SHELL, DocumentVersion=version)
        forget_sessions()

    try:
        yield change
    finally:
        ssm.update_document_default_version(Name=SHELL, DocumentVersion=original["DocumentVersion"])
        boto3_client("iam", "dev").untag_role(RoleName="SSMOperator", TagKeys=["SSMSessionRunAs"])


def test_the_source_is_always_said_and_nothing_known_is_a_dash() -> None:
    assert describe("", "") == "—" and describe("", "stream") == "—"
    assert describe("ops-user", "preferences") == "ops-user (recorded: runAsDefaultUser)"
    assert describe("deploy", "stream") == "deploy (agent's CloudWatch stream)"
    row = SessionSummary("s-1", "i-1", "Terminated", run_as="deploy", run_as_source="tag")
    assert "deploy (recorded: SSMSessionRunAs tag)" in [str(c) for c in row_cells(row)]
    assert "—" in [str(c) for c in row_cells(SessionSummary("s-2", "i-1", "Terminated"))]


async def test_a_session_started_here_keeps_its_run_as_user_in_history(
    dev_prefs: Callable[..., None],
) -> None:
    dev_prefs(runAsEnabled=True, runAsDefaultUser="ops-user")
    target = await linux_target("dev", "eu-west-1")
    done = ssm_tui("connect", target, "--profile", "dev", "--command", "echo U=$USER")
    assert done.returncode == 0, done.stderr
    assert b"U=ops-user" in done.stdout  # the shell ran as the preferences' user
    (record,) = [r for r in Store().local_sessions() if r.target == target]
    assert (record.run_as, record.run_as_source) == ("ops-user", "preferences")
    listed = ssm_tui("history", "-p", "dev", "--target", target, "--json")
    rows = {row["SessionId"]: row for row in map(json.loads, listed.stdout.splitlines())}
    mine = rows[record.session_id]
    assert (mine["RunAs"], mine["RunAsSource"], mine["Source"]) == (
        "ops-user",
        "preferences",
        "both",
    )
    # sessions nobody recorded and nothing streamed: unknown, said as such
    assert all(r["RunAs"] is None for sid, r in rows.items() if sid != record.session_id)
    table = ssm_tui("history", "-p", "dev", "--target", target)
    line = next(x for x in table.stdout.decode().splitlines() if record.session_id in x)
    assert "ops-user (recorded: runAsDefaultUser)" in line


async def test_the_app_records_the_run_as_user_of_its_shell_sessions(
    dev_prefs: Callable[..., None],
) -> None:
    from ssm_tui.ui.services import Services

    dev_prefs(runAsEnabled=True, runAsDefaultUser="ops-user")
    boto3_client("iam", "dev").tag_role(
        RoleName="SSMOperator", Tags=[{"Key": "SSMSessionRunAs", "Value": "deploy"}]
    )
    services = Services()
    try:
        started = StartedSession(
            "alice-0a1b2c3d4e5f6a7b8", "t", "wss://x", "i-1", "eu-west-1", "dev"
        )
        services.record_start(started, "333333333333", "builtin")
        for _ in range(200):
            (record,) = Store().local_sessions()
            if record.run_as:
                break
            await asyncio.sleep(0.1)
        assert (record.run_as, record.run_as_source) == ("deploy", "tag")  # the tag wins
    finally:
        services.aws.stop()


async def test_a_session_from_elsewhere_shows_the_user_the_agent_streamed(
    dev_prefs: Callable[..., None],
) -> None:
    dev_prefs(runAsEnabled=True, runAsDefaultUser="ops-user", cloudWatchStreamingEnabled=True)
    boto3_client("iam", "dev").tag_role(
        RoleName="SSMOperator", Tags=[{"Key": "SSMSessionRunAs", "Value": "deploy"}]
    )
    target = await linux_target("dev", "eu-west-1")
    started = await start_session(target, "dev", "eu-west-1")  # not through ssm-tui: no record
    sid = started["SessionId"]
    output = bytearray()
    async with DataChannelClient(
        started["StreamUrl"],
        started["TokenValue"],
        session_id=sid,
        on_output=lambda _kind, data: output.extend(data),
    ) as channel:
        await channel.wait_ready()
        await channel.send_input(b"echo U=$USER\rexit\r")
        await asyncio.wait_for(channel.wait_closed(), 30)
    assert b"U=deploy" in output  # the principal's tag over the default user, as the agent
    result = await fetch_history([DEV], target=target, run_as=True)
    (row,) = [r for r in result.sessions if r.session_id == sid]
    assert (row.run_as, row.run_as_source, row.source) == ("deploy", "stream", "aws")
    plain = await fetch_history([DEV], target=target)  # not asked: nothing read, nothing said
    assert all(r.run_as == "" for r in plain.sessions)
    listed = ssm_tui("history", "-p", "dev", "--target", target, "--json", "--no-local")
    (shown,) = [r for r in map(json.loads, listed.stdout.splitlines()) if r["SessionId"] == sid]
    assert (shown["RunAs"], shown["RunAsSource"]) == ("deploy", "stream")
