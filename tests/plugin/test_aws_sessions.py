"""StartSession / ResumeSession / TerminateSession through aiobotocore against the sandbox."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ssm_tui.aws.errors import AccessDenied, SsmTuiError
from ssm_tui.aws.sessions import resume_session, start_session, terminate_session


def _instances(profile: str) -> list[dict[str, Any]]:
    ssm = boto3.Session(profile_name=profile).client("ssm")
    return ssm.describe_instance_information()["InstanceInformationList"]


def _tags(profile: str, instance_id: str) -> dict[str, str]:
    ec2 = boto3.Session(profile_name=profile).client("ec2")
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0].get("Tags", [])}


async def test_start_resume_terminate(sandbox_env: Any) -> None:
    target = next(i["InstanceId"] for i in _instances("sandbox") if i["PingStatus"] == "Online")
    started = await start_session("sandbox", None, target, reason="test")
    assert started.session_id.startswith("alice-")
    assert started.stream_url.startswith("ws://127.0.0.1:")
    assert started.region == "us-east-1" and started.target == target
    assert started.endpoint_url == sandbox_env.endpoint
    assert started.token_value not in repr(started)
    resumed = await resume_session("sandbox", None, started.session_id)
    assert resumed is not None and resumed.token_value != started.token_value
    await terminate_session("sandbox", None, started.session_id)
    assert await resume_session("sandbox", None, started.session_id) is None


async def test_target_not_connected_has_a_hint(sandbox_env: Any) -> None:
    lost = next(i["InstanceId"] for i in _instances("sandbox") if i["PingStatus"] != "Online")
    with pytest.raises(SsmTuiError) as err:
        await start_session("sandbox", None, lost)
    assert err.value.code == "TargetNotConnected"
    assert "not connected" in err.value.message and "agent" in err.value.hint


@pytest.mark.slow
async def test_access_denied_is_explained(sandbox_env: Any) -> None:
    restricted = [
        i["InstanceId"]
        for i in _instances("prod-readonly")
        if i["PingStatus"] == "Online"
        and i["InstanceId"].startswith("i-")
        and _tags("prod-readonly", i["InstanceId"]).get("Restricted") == "true"
    ]
    assert restricted, "the seeded world has a Restricted=true instance in prod"
    with pytest.raises(AccessDenied) as err:
        await start_session("prod-readonly", None, restricted[0])
    assert "ssm:StartSession" in str(err.value)


async def test_an_endpoint_override_leaves_the_environment_alone(sandbox_env: Any) -> None:
    """The plugin's endpoint goes to the client itself; os.environ is the whole process's."""
    import os

    from ssm_tui.aws import clients

    target = next(i["InstanceId"] for i in _instances("sandbox") if i["PingStatus"] == "Online")
    started = await start_session("sandbox", None, target)
    other = sandbox_env.endpoint.replace("127.0.0.1", "localhost")  # the same sandbox
    assert other != sandbox_env.endpoint
    seen: list[tuple[str, str | None]] = []

    def record(request: Any, **_: Any) -> None:
        seen.append((request.url, os.environ.get("AWS_ENDPOINT_URL_SSM")))

    session = await clients.get_session("sandbox")
    session.register("before-send.ssm.TerminateSession", record)
    await terminate_session("sandbox", None, started.session_id, endpoint_url=other)
    assert [(url.startswith(other), env) for url, env in seen] == [(True, None)]
    assert await resume_session("sandbox", None, started.session_id) is None
