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


# Clients are reused across tests of one sandbox: creating botocore clients is the slow part.
_CLIENTS: dict[tuple[str, str, str, bool, str | None], Any] = {}
_SESSIONS: dict[tuple[str, str], boto3.Session] = {}


@pytest.fixture
def client(sandbox_env: Any) -> ClientFactory:
    """`client(profile, service, retries=False, region=None)` on the running sandbox."""

    def make(profile: str, service: str, retries: bool = False, region: str | None = None) -> Any:
        key = (sandbox_env.endpoint, profile, service, retries, region)
        if key not in _CLIENTS:
            session_key = (sandbox_env.endpoint, profile)
            if session_key not in _SESSIONS:
                _SESSIONS[session_key] = boto3.Session(profile_name=profile)
            kwargs: dict[str, Any] = {} if retries else {"config": NO_RETRY}
            if region:
                kwargs["region_name"] = region
            _CLIENTS[key] = _SESSIONS[session_key].client(service, **kwargs)
        return _CLIENTS[key]

    return make
