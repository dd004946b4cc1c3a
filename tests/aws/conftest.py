"""Fixtures for the AWS service tests: the seeded world as the oracle, clean module caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ssm_tui.aws import accounts, clients, profiles


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Module-level caches (sessions, identities, discovered profiles) never leak between tests."""
    clients.forget_sessions()
    accounts.forget()
    profiles.clear_discovered()
    yield
    clients.forget_sessions()
    accounts.forget()
    profiles.clear_discovered()


@pytest.fixture(scope="session")
def world(sandbox):  # type: ignore[no-untyped-def]
    """The sandbox's seeded fleet, rebuilt from its seed: what every listing must show."""
    from ssm_tui.sandbox.world import build_world

    return build_world(seed=sandbox.info["seed"], count=sandbox.info["instances"])
