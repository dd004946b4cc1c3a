"""The inventory against the real sandbox process: every account, every instance, every failure."""

from __future__ import annotations

from ssm_tui.aws.inventory import InventoryService, default_scopes
from ssm_tui.aws.models import Profile, ProfileKind, Scope
from ssm_tui.aws.profiles import load_profiles

REGIONS = ["us-east-1", "eu-west-1"]


def _expected(world, account_id: str, region: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """instance id -> expected name (Name tag, else computer name, else id) for one scope."""
    return {
        i.instance_id: i.tags.get("Name") or i.computer_name or i.instance_id
        for i in world.managed(account_id, region)
    }


def test_default_scopes_use_each_profile_region_plus_extras() -> None:
    profiles = [
        Profile("a", ProfileKind.KEYS, region="us-east-1"),
        Profile("b", ProfileKind.KEYS, region="eu-west-1"),
        Profile("c", ProfileKind.KEYS),
    ]
    assert default_scopes(profiles) == [
        Scope("a", "us-east-1"), Scope("b", "eu-west-1"), Scope("c", "")
    ]  # fmt: skip
    assert default_scopes(profiles, ["eu-west-1"]) == [
        Scope("a", "us-east-1"), Scope("a", "eu-west-1"), Scope("b", "eu-west-1"),
        Scope("c", "eu-west-1"),
    ]  # fmt: skip


async def test_every_account_through_base_assume_role_and_sso(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    profiles = {p.name: p for p in load_profiles()}
    assert {"sandbox", "prod", "dev", "sso-dev"} <= set(profiles)
    chosen = [profiles[n] for n in ("sandbox", "prod", "dev", "sso-dev")]
    scopes = default_scopes(chosen, REGIONS)
    results = [r async for r in InventoryService().stream(scopes)]
    assert {r.scope for r in results} == set(scopes) and len(results) == len(scopes)
    accounts = {"sandbox": "111111111111", "prod": "222222222222", "dev": "333333333333",
                "sso-dev": "333333333333"}  # fmt: skip
    for result in results:
        assert result.error is None, result.error
        account = accounts[result.scope.profile]
        expected = _expected(world, account, result.scope.region)
        got = {i.instance_id: i.name for i in result.instances}
        assert got == expected, result.scope
        assert all(i.account_id == account for i in result.instances)
        assert all(i.profile == result.scope.profile for i in result.instances)
        assert result.fetched_at is not None and not result.from_cache
    listed_accounts = {i.account_id for r in results for i in r.instances}
    assert listed_accounts == {"111111111111", "222222222222", "333333333333"}


async def test_instance_fields_joined_from_ec2_and_ssm(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    by_id = {i.instance_id: i for i in result.instances}
    for truth in world.managed("222222222222", "us-east-1"):
        got = by_id[truth.instance_id]
        assert got.ping_status == truth.ping_status
        assert got.platform_type == truth.platform_type
        assert got.agent_version == truth.agent_version
        assert got.computer_name == truth.computer_name
        if truth.is_ec2:
            assert got.resource_type == "EC2Instance"
            assert got.instance_state == truth.ec2_state
            assert got.instance_type == truth.instance_type
            assert got.ip_address == truth.ip_address
            assert got.tags == truth.tags
        else:
            assert got.resource_type == "ManagedInstance"
        assert got.last_ping is not None


async def test_hybrid_nodes_are_named_from_their_tags(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    scopes = default_scopes(load_profiles(), REGIONS)
    results = [r async for r in InventoryService().stream(scopes)]
    hybrid = {i.instance_id: i for r in results if r.error is None for i in r.instances
              if i.instance_id.startswith("mi-")}  # fmt: skip
    truths = [i for i in world.instances if i.managed and not i.is_ec2]
    assert truths, "the seeded world has hybrid nodes"
    for truth in truths:
        assert truth.instance_id in hybrid
        assert hybrid[truth.instance_id].tags == truth.tags
        assert hybrid[truth.instance_id].name == (truth.tags.get("Name") or truth.computer_name)
    # markup-like and escape text arrives literally (the UI shows it with rich Text)
    names = {i.name for r in results for i in r.instances}
    assert any(ch in name for name in names for ch in "[\x1b") or any(
        "[" in v or "\x1b" in v for r in results for i in r.instances for v in i.tags.values()
    )


async def test_broken_profile_is_explained_while_others_list(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    sandbox_env.set_faults(broken_profile="dev")
    try:
        scopes = default_scopes(load_profiles(), REGIONS)
        results = {r.scope: r async for r in InventoryService().stream(scopes)}
    finally:
        sandbox_env.reset_faults()
    broken = [r for s, r in results.items() if s.profile == "dev"]
    assert len(broken) == 2
    for result in broken:
        assert result.error is not None and result.instances == ()
        assert result.error.profile == "dev"
        assert "expired" in result.error.message.lower()
        assert "dev" in result.error.hint
    for scope, result in results.items():
        if scope.profile != "dev":
            assert result.error is None, result.error
    prod = results[Scope("prod", "us-east-1")]
    assert {i.instance_id for i in prod.instances} == set(
        _expected(world, "222222222222", "us-east-1")
    )


async def test_bad_region_and_unknown_profile_are_rows_not_crashes(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    scopes = [Scope("nope", "us-east-1"), Scope("sandbox", "not a region"), Scope("sandbox", "")]
    scopes.append(Scope("sandbox", "us-east-1"))
    results = {r.scope: r async for r in InventoryService().stream(scopes)}
    unknown = results[Scope("nope", "us-east-1")].error
    assert unknown is not None and "known profiles" in unknown.hint and "sandbox" in unknown.hint
    bad_region = results[Scope("sandbox", "not a region")].error
    assert bad_region is not None and bad_region.code == "InvalidRegion"
    no_region = results[Scope("sandbox", "")].error
    assert no_region is not None and no_region.code == "NoRegion"
    assert results[Scope("sandbox", "us-east-1")].error is None


async def test_thirty_percent_throttling_still_lists_everything(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    scopes = default_scopes(load_profiles(), REGIONS)
    sandbox_env.set_faults(throttle=0.3)
    try:
        results = [r async for r in InventoryService().stream(scopes)]
    finally:
        sandbox_env.reset_faults()
    assert [r.error for r in results if r.error] == []
    account_of = {"sandbox": "111111111111", "prod": "222222222222", "dev": "333333333333",
                  "prod-readonly": "222222222222", "sso-dev": "333333333333"}  # fmt: skip
    for result in results:
        expected = _expected(world, account_of[result.scope.profile], result.scope.region)
        assert {i.instance_id: i.name for i in result.instances} == expected


async def test_kept_clients_serve_a_refresh_and_close(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    scopes = [Scope("prod", "us-east-1"), Scope("sandbox", "us-east-1")]
    async with InventoryService(keep_clients=True) as service:
        first = {r.scope: r for r in await service.list_all(scopes)}
        kept = dict(service._pool)
        second = {r.scope: r for r in await service.list_all(scopes)}
        assert service._pool == kept and len(kept) == 2  # the refresh reused both pairs
    assert service._pool == {}
    for scope in scopes:
        assert first[scope].error is None and second[scope].error is None
        assert {i.instance_id for i in first[scope].instances} == {
            i.instance_id for i in second[scope].instances
        }


async def test_results_stream_in_as_scopes_finish_and_early_close_cancels(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    scopes = default_scopes(load_profiles(), REGIONS)
    stream = InventoryService().stream(scopes)
    first = await anext(stream)
    assert first.scope in scopes
    await stream.aclose()  # the UI navigates away: the other scopes are cancelled, nothing leaks
