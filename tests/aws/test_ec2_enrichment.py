"""Issue 13: EC2 enrichment (DescribeInstances) throttled past its retries, or denied, for one
profile. The scope keeps every SSM row (named from what is known), reports the partial failure on
its result, and the other profiles are untouched. The faults are the sandbox's own
(`ec2_throttled_profile`, `ec2_denied_profile`): real botocore retries against a real server."""

from __future__ import annotations

import pytest
from aiobotocore.config import AioConfig

from ssm_tui.aws import clients
from ssm_tui.aws.inventory import InventoryService
from ssm_tui.aws.models import Scope

PROD = Scope("prod", "us-east-1")
OTHER = Scope("sandbox", "us-east-1")
ACCOUNTS = {"prod": "222222222222", "sandbox": "111111111111"}


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two attempts per call instead of eight: the same retry path ends in seconds, not ~30 s
    of backoff (this test's choice: the outcome past the retries is what it checks)."""
    fewer = clients.BASE_CONFIG.merge(AioConfig(retries={"mode": "standard", "max_attempts": 2}))
    monkeypatch.setattr(clients, "BASE_CONFIG", fewer)


def _truth(world, scope: Scope) -> dict:  # type: ignore[no-untyped-def]
    return {i.instance_id: i for i in world.managed(ACCOUNTS[scope.profile], scope.region)}


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("ec2_throttled_profile", "RequestLimitExceeded"),
        ("ec2_denied_profile", "UnauthorizedOperation"),
    ],
)
async def test_ec2_failing_keeps_the_ssm_rows_and_says_so(  # type: ignore[no-untyped-def]
    sandbox_env, world, few_retries, fault, code
) -> None:
    sandbox_env.set_faults(**{fault: "prod"})
    try:
        results = {r.scope: r async for r in InventoryService().stream([PROD, OTHER])}
    finally:
        sandbox_env.reset_faults()
    prod = results[PROD]
    assert prod.error is None, prod.error
    truth = _truth(world, PROD)
    got = {i.instance_id: i for i in prod.instances}
    assert set(got) == set(truth) and any(t.is_ec2 for t in truth.values())
    for node_id, instance in got.items():
        if truth[node_id].is_ec2:  # no EC2 detail: named from SSM's computer name, no state
            assert instance.name == (truth[node_id].computer_name or node_id)
            assert instance.instance_state == ""
        assert instance.ping_status == truth[node_id].ping_status
    assert prod.partial is not None
    assert prod.partial.code == code and "EC2" in prod.partial.message
    assert prod.partial.profile == "prod" and prod.partial.hint
    other = results[OTHER]
    assert other.error is None and other.partial is None
    expected = {
        k: t.tags.get("Name") or t.computer_name or k for k, t in _truth(world, OTHER).items()
    }
    assert {i.instance_id: i.name for i in other.instances} == expected


async def test_names_known_from_an_earlier_listing_stay(sandbox_env, world, few_retries) -> None:  # type: ignore[no-untyped-def]
    """A refresh whose EC2 call is throttled keeps the Name tags (and types) an earlier listing
    of the same service saw; the state, which may have changed, is left unknown."""
    service = InventoryService()
    (first,) = await service.list_all([PROD])
    assert first.error is None and first.partial is None
    sandbox_env.set_faults(ec2_throttled_profile="prod")
    try:
        (second,) = await service.list_all([PROD])
    finally:
        sandbox_env.reset_faults()
    assert second.error is None and second.partial is not None
    before = {i.instance_id: i for i in first.instances}
    after = {i.instance_id: i for i in second.instances}
    assert set(after) == set(before)
    for node_id, instance in after.items():
        assert instance.name == before[node_id].name
        assert instance.tags == before[node_id].tags
        assert instance.instance_type == before[node_id].instance_type
        if node_id.startswith("i-"):
            assert instance.instance_state == ""
