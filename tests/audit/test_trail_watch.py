"""The sandbox's CloudTrail, `audit watch` and its hooks, with real sessions started by boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ssm_tui.aws.audit import BOTOCORE_HINT, Watcher
from ssm_tui.aws.clients import client
from ssm_tui.aws.models import Scope
from tests.audit.conftest import boto3_client, instance_name
from tests.history.conftest import linux_target


def _events(cloudtrail: Any, name: str) -> list[dict[str, Any]]:
    reply = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
    )
    return reply["Events"]


async def test_cloudtrail_records_start_resume_and_terminate(aws: Any) -> None:
    target = await linux_target("prod")
    reason = f"INC-{uuid.uuid4().hex[:6]} check disk"
    async with client("ssm", "prod", "us-east-1") as ssm:  # ssm-tui's client: named after alice
        started = await ssm.start_session(Target=target, Reason=reason)
        sid = started["SessionId"]
        await ssm.resume_session(SessionId=sid)
        await ssm.terminate_session(SessionId=sid)
    trail = boto3_client("cloudtrail", "prod")
    start = next(
        e
        for e in _events(trail, "StartSession")
        if json.loads(e["CloudTrailEvent"])["responseElements"]["sessionId"] == sid
    )
    document = json.loads(start["CloudTrailEvent"])
    assert start["Username"] == "alice" and start["EventSource"] == "ssm.amazonaws.com"
    assert start["Resources"] == [{"ResourceType": "AWS::EC2::Instance", "ResourceName": target}]
    assert document["userIdentity"]["arn"] == (
        "arn:aws:sts::222222222222:assumed-role/SSMOperator/alice"
    )
    assert document["userIdentity"]["type"] == "AssumedRole"
    assert document["requestParameters"] == {"target": target, "reason": reason}
    assert document["responseElements"]["tokenValue"] == "Value hidden due to security reasons."
    assert started["TokenValue"] not in start["CloudTrailEvent"]
    assert document["recipientAccountId"] == "222222222222"
    for name in ("ResumeSession", "TerminateSession"):
        found = [json.loads(e["CloudTrailEvent"]) for e in _events(trail, name)]
        assert any(d["requestParameters"] == {"sessionId": sid} for d in found), name
    by_user = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": target}]
    )["Events"]
    assert start["EventId"] in {e["EventId"] for e in by_user}
    # the other account's trail has none of it (per account, as CloudTrail is)
    dev = boto3_client("cloudtrail", "dev").lookup_events()["Events"]
    assert sid not in json.dumps(dev, default=str)


def test_cloudtrail_refuses_what_aws_refuses(aws: Any) -> None:
    from botocore.exceptions import ClientError

    trail = boto3_client("cloudtrail", "sandbox")
    two = [
        {"AttributeKey": "EventName", "AttributeValue": "StartSession"},
        {"AttributeKey": "Username", "AttributeValue": "alice"},
    ]
    for kwargs, code in (
        ({"LookupAttributes": two}, "InvalidLookupAttributesException"),
        ({"StartTime": 200, "EndTime": 100}, "InvalidTimeRangeException"),
        ({"NextToken": "%%%"}, "InvalidNextTokenException"),
    ):
        with pytest.raises(ClientError) as caught:
            trail.lookup_events(**kwargs)
        assert caught.value.response["Error"]["Code"] == code


async def test_watch_sees_a_session_another_profile_started_within_one_poll(aws: Any) -> None:
    watcher = Watcher([Scope("sandbox", "us-east-1"), Scope("dev", "eu-west-1")])
    first = await watcher.poll()  # what was connected already: 'active', never 'start'
    assert {e.kind for e in first} <= {"active"}
    target = await linux_target("dev", "eu-west-1")
    ssm = boto3_client("ssm", "dev")
    sid = ssm.start_session(Target=target, Reason="deploy 1.2.3")["SessionId"]
    try:
        events = [e for e in await watcher.poll() if e.session_id == sid]
    finally:
        ssm.terminate_session(SessionId=sid)
    (start,) = events
    assert start.kind == "start" and start.reason == "deploy 1.2.3"
    assert start.owner == "alice" and start.owner_hint == ""  # dev sets role_session_name
    assert start.instance_name == instance_name("dev", target)
    assert (start.account_id, start.region, start.target) == ("333333333333", "eu-west-1", target)
    (end,) = [e for e in await watcher.poll() if e.session_id == sid]
    assert end.kind == "end" and end.end is not None and end.status == "Terminated"
    assert watcher.errors == []


def _wait_for(path: Path, what: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and what in (text := path.read_text()):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{what!r} never reached {path}")


async def test_watch_runs_the_start_hook_with_the_event_on_stdin(aws: Any, tmp_path: Path) -> None:
    received = tmp_path / "hook.jsonl"
    settings = tmp_path / "config.toml"
    settings.write_text(f"[audit]\non_session_start = \"cat >> '{received}'\"\n")
    target = await linux_target("prod")
    env = {**os.environ, "SSM_TUI_CONFIG": str(settings)}
    watch = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "audit", "watch", "--json", "-p", "prod"]
        + ["--interval", "0.5", "--count", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    ssm = boto3_client("ssm", "prod")
    sid = ""
    try:
        assert watch.stderr is not None
        assert b"watching" in watch.stderr.readline()  # the first poll is done
        sid = ssm.start_session(Target=target, Reason="hook check")["SessionId"]
        text = _wait_for(received, sid)
    finally:
        if sid:
            ssm.terminate_session(SessionId=sid)
        watch.terminate()
        out, _ = watch.communicate(timeout=30)
    event = next(json.loads(line) for line in text.splitlines() if sid in line)
    # plain boto3 on prod names no role session: shown as another tool's, with the hint
    assert event["Event"] == "start" and event["Owner"].startswith("botocore-session-")
    assert event["OwnerHint"] == BOTOCORE_HINT
    assert event["Reason"] == "hook check" and event["Target"] == target
    assert event["AccountId"] == "222222222222" and event["Profile"] == "prod"
    printed = [json.loads(line) for line in out.splitlines()]
    assert any(p["SessionId"] == sid and p["Event"] == "start" for p in printed)
