"""KMS fixtures: the shared sandbox with the Session Manager preferences naming a KMS key.

`kms_sandbox` turns the run-time switch on (`POST /_sandbox/kms`) for one test and off again
afterwards, so the other tests of the worker keep their plain sessions.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest


def kms_admin(sandbox: Any, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (no changes) or POST the sandbox's KMS switch; loopback, never through a proxy."""
    data = json.dumps(changes).encode() if changes is not None else None
    request = urllib.request.Request(
        sandbox.endpoint + "/_sandbox/kms",
        data=data,
        method="GET" if changes is None else "POST",
        headers={"content-type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AdminError(f"{error.code}: {error.read().decode(errors='replace')}") from None


class AdminError(Exception):
    """The sandbox refused an admin request; the message is its JSON answer."""


def linux_target(profile: str) -> str:
    """An Online Linux instance that `profile` sees (the sandbox's env must be applied)."""
    ssm = boto3.Session(profile_name=profile).client("ssm")
    infos = ssm.describe_instance_information()["InstanceInformationList"]
    for info in sorted(infos, key=lambda i: i["InstanceId"]):
        if info["PingStatus"] == "Online" and info["PlatformType"] == "Linux":
            return info["InstanceId"]
    raise AssertionError(f"the sandbox has no Online Linux instance for profile {profile}")


def preference_key(profile: str) -> str:
    """kmsKeyId of the SSM-SessionManagerRunShell preferences in the profile's account/region."""
    ssm = boto3.Session(profile_name=profile).client("ssm")
    content = ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"]
    return json.loads(content)["inputs"]["kmsKeyId"]


@pytest.fixture
def kms_sandbox(sandbox_env: Any) -> Iterator[Any]:
    state = kms_admin(sandbox_env, {"enabled": True})
    assert state["enabled"]
    try:
        yield sandbox_env
    finally:
        kms_admin(sandbox_env, {"enabled": False, "deny_profile": None})
