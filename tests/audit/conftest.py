"""Helpers for the audit tests: real sessions typed into on the shared sandbox, the CLI as a user
runs it, and boto3 clients for looking at what the sandbox recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ssm_tui.aws.clients import forget_sessions

ACCOUNTS = {"sandbox": "111111111111", "prod": "222222222222", "dev": "333333333333"}
REGIONS = {"sandbox": "us-east-1", "prod": "us-east-1", "dev": "eu-west-1"}


@pytest.fixture
def aws(sandbox_env: Any) -> Iterator[Any]:
    """The sandbox in os.environ, and no aiobotocore session cached from another test's config."""
    forget_sessions()
    yield sandbox_env
    forget_sessions()


def ssm_tui(*args: str, timeout: float = 90, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", *args],
        capture_output=True,
        timeout=timeout,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def boto3_client(service: str, profile: str) -> Any:
    import boto3

    return boto3.Session(profile_name=profile, region_name=REGIONS[profile]).client(service)


def instance_name(profile: str, instance_id: str) -> str:
    ec2 = boto3_client("ec2", profile)
    reply = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [instance_id]}])
    for reservation in reply["Reservations"]:
        for instance in reservation["Instances"]:
            return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}.get("Name", "")
    raise AssertionError(f"no instance {instance_id}")
