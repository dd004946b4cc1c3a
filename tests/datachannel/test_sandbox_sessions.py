"""The data channel inside the real sandbox process: boto3 StartSession, then the websocket.

These go through everything a user's session does: the SSM API (StartSession, ResumeSession,
TerminateSession, DescribeSessions), the sandbox's websocket route, a real shell, and the
transcript read back with CloudWatch Logs GetLogEvents and S3 GetObject.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from websockets.exceptions import ConnectionClosed

from ssm_tui.demo import SandboxProcess
from ssm_tui.plugin.messages import PayloadType
from tests.datachannel.harness import ProtocolClient

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture
def aws(sandbox_env: SandboxProcess) -> dict[str, Any]:
    session = boto3.Session(profile_name="sandbox")
    return {name: session.client(name, config=NO_RETRY) for name in ("ssm", "logs", "s3", "sts")}


def _online_linux(ssm: Any) -> list[dict[str, Any]]:
    infos = ssm.describe_instance_information(
        Filters=[
            {"Key": "PingStatus", "Values": ["Online"]},
            {"Key": "PlatformTypes", "Values": ["Linux"]},
        ]
    )["InstanceInformationList"]
    assert len(infos) >= 2
    return infos


def _history(ssm: Any, session_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        sessions = ssm.describe_sessions(
            State="History", Filters=[{"key": "SessionId", "value": session_id}]
        )["Sessions"]
        if sessions or time.monotonic() > deadline:
            return sessions
        time.sleep(0.05)


async def test_shell_session_end_to_end_with_transcript(aws: dict[str, Any]) -> None:
    ssm = aws["ssm"]
    target = _online_linux(ssm)[0]
    started = ssm.start_session(Target=target["InstanceId"])
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    host = target["ComputerName"].split(".")[0].encode()
    await client.wait_for_output(b"ssm-user@" + host + b":")
    await client.type("printf 'transcript-%s\\n' $((6*7)); printf '\\033[1mbold\\033[0m\\n'\r")
    await client.wait_for_output(b"transcript-42\r\n")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)

    history = _history(ssm, started["SessionId"])
    assert [s["Status"] for s in history] == ["Terminated"]
    urls = history[0]["OutputUrl"]
    assert started["SessionId"] in urls["S3OutputUrl"]
    assert started["SessionId"] in urls["CloudWatchOutputUrl"]

    prefs = json.loads(ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"])["inputs"]
    events = aws["logs"].get_log_events(
        logGroupName=prefs["cloudWatchLogGroupName"],
        logStreamName=started["SessionId"],
        startFromHead=True,
    )["events"]
    text = "".join(event["message"] for event in events)
    assert "transcript-42\r\n" in text
    assert "\x1b[1mbold\x1b[0m" in text  # raw, escapes and all
    key = prefs["s3KeyPrefix"].rstrip("/") + f"/{started['SessionId']}.log"
    body = aws["s3"].get_object(Bucket=prefs["s3BucketName"], Key=key)["Body"].read()
    assert body == bytes(client.output)


async def test_terminate_session_api_closes_the_channel(aws: dict[str, Any]) -> None:
    ssm = aws["ssm"]
    started = ssm.start_session(Target=_online_linux(ssm)[0]["InstanceId"])
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.wait_for_output(b"$ ")
    ssm.terminate_session(SessionId=started["SessionId"])
    await client.pump(lambda: client.closed is not None)
    assert [s["Status"] for s in _history(ssm, started["SessionId"])] == ["Terminated"]


async def test_non_interactive_command_as_aws_publishes_it(aws: dict[str, Any]) -> None:
    ssm = aws["ssm"]
    document = json.loads(ssm.get_document(Name="AWS-StartNonInteractiveCommand")["Content"])
    assert "separateOutputStream" not in json.dumps(document)  # as AWS publishes it
    started = ssm.start_session(
        Target=_online_linux(ssm)[0]["InstanceId"],
        DocumentName="AWS-StartNonInteractiveCommand",
        Parameters={"command": ["sh -c 'echo from-$(basename $PWD); exit 3'"]},
    )
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.pump(lambda: client.closed is not None)
    assert client.exit_code is None  # the agent sends no ExitCode for it
    assert b"from-" in client.output


async def test_own_document_with_separate_output_stream_reports_the_status(
    aws: dict[str, Any],
) -> None:
    ssm = aws["ssm"]
    name = f"Acme-Cmd-{uuid.uuid4().hex[:8]}"
    content = {
        "schemaVersion": "1.0",
        "sessionType": "NonInteractiveCommands",
        "parameters": {"command": {"type": "String"}},
        "properties": {"linux": {"commands": "{{ command }}", "separateOutputStream": True}},
    }
    ssm.create_document(Content=json.dumps(content), Name=name, DocumentType="Session")
    started = ssm.start_session(
        Target=_online_linux(ssm)[0]["InstanceId"],
        DocumentName=name,
        Parameters={"command": ["sh -c 'echo out; echo err >&2; exit 3'"]},
    )
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.pump(lambda: client.closed is not None)
    assert client.exit_code == 3
    assert b"".join(p for k, p in client.payloads if k == PayloadType.STDERR) == b"err\n"


async def test_dropped_socket_resumes_through_the_api(
    aws: dict[str, Any], sandbox_env: SandboxProcess
) -> None:
    ssm = aws["ssm"]
    started = ssm.start_session(Target=_online_linux(ssm)[1]["InstanceId"])
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.wait_for_output(b"$ ")
    await client.type("export KEPT=yes-$((1+1))\r")
    await client.wait_for_output(b"export KEPT")
    sandbox_env.set_faults(drop_sessions_after=0.3)
    try:
        with pytest.raises(ConnectionClosed):
            await client.pump(lambda: False, timeout=10)
    finally:
        sandbox_env.reset_faults()
    resumed = ssm.resume_session(SessionId=started["SessionId"])
    await client.reconnect(resumed["StreamUrl"], resumed["TokenValue"])
    await client.type("echo $KEPT\r")
    await client.wait_for_output(b"yes-2\r\n")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)
