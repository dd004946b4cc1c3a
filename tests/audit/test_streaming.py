"""Streamed transcripts (`cloudWatchStreamingEnabled`): searchable and watched while they run."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ssm_tui.aws.audit import Query, Watcher, search
from ssm_tui.aws.clients import client, forget_sessions
from ssm_tui.aws.models import Scope
from ssm_tui.plugin.client import DataChannelClient
from tests.audit.conftest import boto3_client
from tests.history.conftest import linux_target, start_session

SHELL = "SSM-SessionManagerRunShell"
DEV = Scope("dev", "eu-west-1")


_streaming_versions: dict[str, str] = {}
"""The document version with streaming on, per content (the sandbox outlives one test)."""


@pytest.fixture
def dev_streams(aws: Any) -> Iterator[None]:
    """dev's preferences with CloudWatch streaming on (put back afterwards)."""
    ssm = boto3_client("ssm", "dev")
    original = ssm.get_document(Name=SHELL)
    content = json.loads(original["Content"])
    content["inputs"]["cloudWatchStreamingEnabled"] = True
    version = _streaming_versions.get(json.dumps(content, sort_keys=True))
    if version is None:  # made once: the same content again is DuplicateDocumentContent
        version = ssm.update_document(
            Name=SHELL, Content=json.dumps(content), DocumentVersion="$LATEST"
        )["DocumentDescription"]["DocumentVersion"]
        _streaming_versions[json.dumps(content, sort_keys=True)] = version
    ssm.update_document_default_version(Name=SHELL, DocumentVersion=version)
    forget_sessions()
    try:
        yield
    finally:
        ssm.update_document_default_version(Name=SHELL, DocumentVersion=original["DocumentVersion"])


async def _until(check: Any, timeout: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.3)
    raise AssertionError("never happened")


async def test_a_streamed_line_is_found_and_watched_while_the_session_runs(
    dev_streams: None,
) -> None:
    marker = uuid.uuid4().hex[:10]
    target = await linux_target("dev", "eu-west-1")
    started = await start_session(target, "dev", "eu-west-1")
    sid = started["SessionId"]
    watcher = Watcher([DEV], patterns=[rf"LIVE-\d+-{marker}"])
    await watcher.poll()
    async with DataChannelClient(
        started["StreamUrl"], started["TokenValue"], session_id=sid, on_output=lambda *_: None
    ) as channel:
        await channel.wait_ready()
        await channel.send_input(f"printf '\\033[1mLIVE-%s-{marker}\\033[0m\\n' 7\r".encode())

        async def found() -> Any:
            result = await search([DEV], Query(pattern=f"LIVE-7-{marker}"))
            return result.hits

        (hit,) = await _until(found)  # the session is still open: CloudWatch has it already
        # the agent strips ANSI sequences and carriage returns from streamed lines (so the echo
        # of the typed line and the output can share one line, as on AWS)
        assert hit.session_id == sid and hit.line.endswith(f"LIVE-7-{marker}")
        assert "\x1b" not in hit.line and "\r" not in hit.line
        assert hit.owner == "alice" and hit.source == "cloudwatch"
        seen: list[Any] = []

        async def watched() -> Any:
            seen.extend(e for e in await watcher.poll() if e.kind == "pattern")
            return seen

        (event,) = await _until(watched)
        assert event.session_id == sid and event.line.endswith(f"LIVE-7-{marker}")
        await channel.send_input(f"echo unfinished-{marker}".encode())  # no newline yet
        await asyncio.sleep(2.5)
        await channel.send_input(b"\rexit\r")
        await asyncio.wait_for(channel.wait_closed(), 30)
    async with client("logs", "dev", "eu-west-1") as logs:
        events = (await logs.get_log_events(logGroupName="/acme/ssm/sessions", logStreamName=sid))[
            "events"
        ]
    documents = [json.loads(e["message"]) for e in events]  # every event is the agent's JSON
    assert {d["sessionId"] for d in documents} == {sid}
    assert all(d["target"] == {"id": target} and d["runAsUser"] for d in documents)
    lines = [line for d in documents for line in d["sessionData"]]
    assert sum(line.endswith(f"LIVE-7-{marker}") for line in lines) == 1  # streamed once, not again
    assert any(f"unfinished-{marker}" in line for line in lines)


async def test_a_command_session_is_not_streamed_but_written_when_it_ends(
    dev_streams: None,
) -> None:
    """The agent's single-command plugins (InteractiveCommands and NonInteractiveCommands) turn
    `CloudWatchStreamingEnabled` off for their session (`plugins/singlecommand/singlecommand.go`):
    nothing is in CloudWatch while the command runs; the shell plugin's end-of-session upload
    (streaming off) writes it once the command ends (`shell/shell.go` finishLogging)."""
    marker = uuid.uuid4().hex[:10]
    target = await linux_target("dev", "eu-west-1")
    started = await start_session(
        target,
        "dev",
        "eu-west-1",
        DocumentName="AWS-StartInteractiveCommand",
        Parameters={"command": [f"sh -c 'echo CMD-{marker}; sleep 4'"]},
    )
    sid = started["SessionId"]
    out = bytearray()
    async with DataChannelClient(
        started["StreamUrl"],
        started["TokenValue"],
        session_id=sid,
        on_output=lambda _type, data: out.extend(data),
    ) as channel:
        await channel.wait_ready()
        while f"CMD-{marker}".encode() not in out:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.5)  # the sandbox streams every second when it streams
        async with client("logs", "dev", "eu-west-1") as logs:
            streams = await logs.describe_log_streams(
                logGroupName="/acme/ssm/sessions", logStreamNamePrefix=sid
            )
        assert streams["logStreams"] == []  # not streamed while it runs
        await asyncio.wait_for(channel.wait_closed(), 30)

    async def written() -> Any:
        result = await search([DEV], Query(pattern=f"CMD-{marker}"))
        return result.hits

    (hit,) = await _until(written)
    assert hit.session_id == sid and hit.source == "cloudwatch"
