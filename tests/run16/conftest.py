"""Fixtures for Run Command and SSH over SSM: boto3 clients and the seeded fleet's instances."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from ssm_tui.sandbox.world import ACCOUNTS, Instance, build_world

WORLD = build_world()  # the shared sandbox runs the default seed and fleet
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
PROD = ACCOUNTS["prod"]


def prod_instance(name: str, region: str = "us-east-1") -> Instance:
    return next(
        i for i in WORLD.instances if i.account_id == PROD and i.region == region and i.name == name
    )


@pytest.fixture
def aws(sandbox_env: Any) -> Callable[..., Any]:
    """`aws(service, profile="prod")`: a boto3 client on the running sandbox (no retries)."""

    def make(service: str, profile: str = "prod", region: str | None = None) -> Any:
        session = boto3.Session(profile_name=profile)
        return session.client(service, config=NO_RETRY, region_name=region)

    return make


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "it") -> Any:
    """Poll until `check()` is truthy; fail (not a timing assertion: a hang guard) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def wait_no_active(ssm: Any, target: str, what: str) -> None:
    """Wait until DescribeSessions shows no Active session on `target` (none left behind)."""
    wait_for(
        lambda: (
            not ssm.describe_sessions(State="Active", Filters=[{"key": "Target", "value": target}])[
                "Sessions"
            ]
        ),
        what=what,
    )
