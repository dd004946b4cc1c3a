"""Helpers for the sandbox's own tests: boto3 clients on the shared sandbox's profiles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

# One attempt: a test about an error must see it at once, not after botocore's retries.
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})

ClientFactory = Callable[..., Any]


@pytest.fixture
def client(sandbox_env: Any) -> ClientFactory:
    """`client(profile, service, retries=False)` on the running sandbox."""
    sessions: dict[str, boto3.Session] = {}

    def make(profile: str, service: str, retries: bool = False, region: str | None = None) -> Any:
        if profile not in sessions:
            sessions[profile] = boto3.Session(profile_name=profile)
        kwargs: dict[str, Any] = {} if retries else {"config": NO_RETRY}
        if region:
            kwargs["region_name"] = region
        return sessions[profile].client(service, **kwargs)

    return make
