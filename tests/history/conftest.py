"""Helpers for the history and logs tests: real sessions on the sandbox, and transcripts put there.

Sessions are started the way the app does (StartSession through `ssm_tui.aws.clients`, then our
data-channel client on the StreamUrl) and typed into; when the shell exits the sandbox writes the
transcript to CloudWatch Logs and S3 like Session Manager does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ssm_tui.aws.clients import client, forget_sessions
from ssm_tui.plugin.client import DataChannelClient

PROFILE = "sandbox"
REGION = "us-east-1"
ACCOUNT = "111111111111"
LOG_GROUP_HINT = "SSM-SessionManagerRunShell"


@dataclass
class Ran:
    """A session that ran on the sandbox."""

    session_id: str
    target: str
    output: bytes
    profile: str = PROFILE
    region: str = REGION
    extra: dict[str, Any] = field(default_factory=dict)


async def linux_target(profile: str = PROFILE, region: str = REGION) -> str:
    """An Online Linux instance of the seeded fleet (sessions to it run a real shell)."""
    async with client("ssm", profile, region) as ssm:
        paginator = ssm.get_paginator("describe_instance_information")
        async for page in paginator.paginate():
            for info in page["InstanceInformationList"]:
                if info.get("PingStatus") == "Online" and info.get("PlatformType") == "Linux":
                    return str(info["InstanceId"])
    raise AssertionError("the sandbox has no Online Linux instance")


async def start_session(
    target: str, profile: str = PROFILE, region: str = REGION, **kwargs: Any
) -> dict[str, Any]:
    async with client("ssm", profile, region) as ssm:
        return await ssm.start_session(Target=target, **kwargs)


async def drive(started: dict[str, Any], commands: list[bytes], *, end: bool = True) -> bytes:
    """Type `commands` into a started session; with `end`, exit the shell and wait for the close."""
    out = bytearray()
    marker = b"__done__"
    async with DataChannelClient(
        started["StreamUrl"],
        started["TokenValue"],
        session_id=started["SessionId"],
        on_output=lambda _type, data: out.extend(data),
    ) as channel:
        await channel.wait_ready()
        for command in commands:
            await channel.send_input(command)
        await channel.send_input(b"echo " + marker + b"\r")
        for _ in range(400):  # the shell answered everything typed so far
            if out.count(marker) >= 2:
                break
            await asyncio.sleep(0.025)
        if end:
            await channel.send_input(b"exit\r")
            await asyncio.wait_for(channel.wait_closed(), 30)
    return bytes(out)


async def run_session(
    commands: list[bytes], profile: str = PROFILE, region: str = REGION, **kwargs: Any
) -> Ran:
    target = await linux_target(profile, region)
    started = await start_session(target, profile, region, **kwargs)
    output = await drive(started, commands)
    return Ran(started["SessionId"], target, output, profile, region)


def boto3_client(service: str, region: str = REGION, profile: str = PROFILE) -> Any:
    """A plain boto3 client on the sandbox (for putting fixtures in place)."""
    import boto3

    return boto3.Session(profile_name=profile, region_name=region).client(service)


def put_cloudwatch(stream: str, messages: list[str], group: str = "/acme/ssm/sessions") -> None:
    """Write a transcript stream as Session Manager would (one event per line)."""
    import time

    logs = boto3_client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": m} for i, m in enumerate(messages)]
    for start in range(0, len(events), 10_000):
        logs.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=events[start : start + 10_000]
        )


def put_s3(session_id: str, body: bytes) -> str:
    """Write a transcript object where the sandbox's preferences say (`session-logs/ID.log`)."""
    key = f"session-logs/{session_id}.log"
    bucket = f"acme-ssm-sessions-{ACCOUNT}-{REGION}"
    boto3_client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return key


@pytest.fixture
def aws(sandbox_env: Any) -> Iterator[Any]:
    """The sandbox in os.environ, and no aiobotocore session cached from another test's config."""
    forget_sessions()
    yield sandbox_env
    forget_sessions()


@pytest.fixture(scope="package")
def finished(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One shell session that ran `echo hello-from-history` and ended (shared by these tests)."""
    home = tmp_path_factory.mktemp("finished-home")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CONFIG_HOME", str(Path(home) / ".config"))
        for name, value in sandbox.env.items():
            patch.setenv(name, value)
        forget_sessions()
        try:
            return asyncio.run(
                run_session([b"echo hello-from-history\r", b"printf 'x%.0s' 1 2 3; echo\r"])
            )
        finally:
            forget_sessions()
