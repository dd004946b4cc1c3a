"""The inventory against the real sandbox process: every account, every instance, every failure."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from botocore import exceptions as bce

from ssm_tui.aws import clients, inventory
from ssm_tui.aws.errors import UnknownProfileError
from ssm_tui.aws.inventory import InventoryService, default_scopes, lean_ec2, lean_ssm
from ssm_tui.aws.models import Profile, ProfileKind, Scope
from ssm_tui.aws.profiles import load_profiles
from ssm_tui.demo import SandboxProcess

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


@pytest.mark.slow
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


# -- big scopes: the partition (EC2 listing + InstanceIds chunks + hybrid chain) -----------------

BIG_FLEET = 700
"""Instances of the big sandbox: prod/us-east-1 then holds ~190 managed nodes (4 pages of 50)."""
BIG_SEED = 5


@pytest.fixture(scope="module")
def big_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A second real sandbox whose biggest scopes need several DescribeInstanceInformation pages
    (the session sandbox's scopes all fit in one, so they never take the partition)."""
    base = tmp_path_factory.mktemp("big-sandbox")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(base / "home")
    process = SandboxProcess(instances=BIG_FLEET, seed=BIG_SEED, directory=base / "files", env=env)
    process.start(timeout=120)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def big_env(big_sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    for key, value in big_sandbox.env.items():
        monkeypatch.setenv(key, value)
    return big_sandbox


@pytest.fixture(scope="module")
def big_world():  # type: ignore[no-untyped-def]
    from ssm_tui.sandbox.world import build_world

    return build_world(seed=BIG_SEED, count=BIG_FLEET)


async def _record_calls(profile: str) -> list[tuple[str, dict[str, Any]]]:
    """(operation, params) of every call the profile's clients make from now on, in order.

    Registered on the profile's cached session, whose handlers every new client copies; the
    clients already open (they are long-lived) are closed first, so the next ones copy it.
    """
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    session = await clients.get_session(profile)
    session.register("before-parameter-build", record)
    await clients.aclose()
    return calls


async def _plain_chain(profile: str, region: str) -> dict[str, dict[str, Any]]:
    """Every node of the scope by DescribeInstanceInformation's own NextToken chain."""
    async with clients.client("ssm", profile, region) as ssm:
        pages = ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 50}
        )
        return {i["InstanceId"]: i async for page in pages for i in page["InstanceInformationList"]}


def _filter_keys(params: dict[str, Any]) -> set[str]:
    return {f["Key"] for f in params.get("Filters", [])}


async def test_big_scope_is_partitioned_and_lists_what_the_plain_chain_lists(  # type: ignore[no-untyped-def]
    big_env, big_world
) -> None:
    chain = await _plain_chain("prod", "us-east-1")
    assert len(chain) > 150, "the scope spans several pages"
    calls = await _record_calls("prod")
    (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    assert result.error is None, result.error
    got = {i.instance_id: i for i in result.instances}
    assert set(got) == set(chain) and len(result.instances) == len(chain)
    # what each node shows equals DescribeInstanceInformation's own answer, joined with EC2/tags
    for node_id, info in chain.items():
        assert got[node_id].ping_status == info["PingStatus"]
        assert got[node_id].agent_version == info["AgentVersion"]
        assert got[node_id].resource_type == info["ResourceType"]
    expected = _expected(big_world, "222222222222", "us-east-1")
    assert {i: x.name for i, x in got.items()} == expected
    by_id = {i.instance_id: i for i in big_world.managed("222222222222", "us-east-1")}
    for node_id, instance in got.items():
        truth = by_id[node_id]
        assert instance.tags == truth.tags
        if truth.is_ec2:
            assert instance.instance_state == truth.ec2_state
            assert instance.ip_address == truth.ip_address
    # ... and it got there through the partition, not the page chain
    infos = [params for op, params in calls if op == "DescribeInstanceInformation"]
    assert infos[0] == {"MaxResults": 50}, "one unfiltered page shows the scope is big"
    assert all(_filter_keys(p) for p in infos[1:]), "no further page of the unfiltered chain"
    by_ids = [p for p in infos if _filter_keys(p) == {"InstanceIds"}]
    assert by_ids and all(len(p["Filters"][0]["Values"]) <= 50 for p in by_ids)
    assert any(_filter_keys(p) == {"ResourceType"} for p in infos)
    assert ("DescribeInstances", {"Filters": ANY, "MaxResults": 1000}) in calls


async def test_small_scope_stays_one_call(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    calls = await _record_calls("prod")
    (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    assert result.error is None and result.instances
    infos = [params for op, params in calls if op == "DescribeInstanceInformation"]
    assert infos == [{"MaxResults": 50}]


@pytest.mark.parametrize("share", [inventory.MIN_MANAGED_SHARE, 1.01], ids=["dense", "sparse"])
async def test_paged_ec2_listing_probes_then_commits_or_walks_the_chain(  # type: ignore[no-untyped-def]
    big_env, big_world, monkeypatch, share
) -> None:
    """EC2 pages of 50 (so the listing spans several): a scope whose first page is mostly managed
    takes the partition; one below the share (forced here) walks the plain chain, with EC2 data."""
    monkeypatch.setattr(inventory, "EC2_PAGE_SIZE", 50)
    monkeypatch.setattr(inventory, "MIN_MANAGED_SHARE", share)
    calls = await _record_calls("prod")
    (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    assert result.error is None, result.error
    expected = _expected(big_world, "222222222222", "us-east-1")
    assert {i.instance_id: i.name for i in result.instances} == expected
    assert len(result.instances) == len(expected)
    truth = {i.instance_id: i for i in big_world.managed("222222222222", "us-east-1")}
    for instance in result.instances:
        if truth[instance.instance_id].is_ec2:
            assert instance.instance_state == truth[instance.instance_id].ec2_state
    ec2_calls = [p["Filters"][0]["Name"] for op, p in calls if op == "DescribeInstances"]
    listings = [name for name in ec2_calls if name == "instance-state-name"]
    infos = [p for op, p in calls if op == "DescribeInstanceInformation"]
    chain = [p for p in infos if not _filter_keys(p)]
    if share <= 1:
        assert len(listings) > 2 and len(chain) == 1
    else:  # the probe: one EC2 page and its ids; then the chain and EC2 batches of the rest
        assert len(listings) == 1
        assert len([p for p in infos if _filter_keys(p) == {"InstanceIds"}]) == 1
        assert len(chain) == -(-len(expected) // 50)
        assert "instance-id" in ec2_calls  # EC2 batches for the ids past the first page


class _DenyingEC2(http.server.BaseHTTPRequestHandler):
    """An EC2 endpoint that denies every call, as IAM does without ec2:DescribeInstances."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
            b"<Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this "
            b"operation. User is not authorized to perform: ec2:DescribeInstances</Message>"
            b"</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID>"
            b"</Response>"
        )
        self.send_response(403)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def denied_ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """EC2 calls go to a real HTTP server on loopback that denies them (AWS_ENDPOINT_URL_EC2)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DenyingEC2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_ec2_denied_falls_back_to_the_plain_chain(big_env, big_world, denied_ec2) -> None:  # type: ignore[no-untyped-def]
    calls = await _record_calls("prod")
    (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    assert result.error is None, result.error
    managed = big_world.managed("222222222222", "us-east-1")
    got = {i.instance_id: i for i in result.instances}
    assert set(got) == {i.instance_id for i in managed} and len(result.instances) == len(managed)
    for truth in managed:
        if truth.is_ec2:  # no EC2 data: named from SSM's computer name, no state
            assert got[truth.instance_id].name == truth.computer_name
            assert got[truth.instance_id].instance_state == ""
        else:
            assert got[truth.instance_id].tags == truth.tags
    assert [op for op, _ in calls].count("DescribeInstances") == 1, "denied once, not per page"
    infos = [params for op, params in calls if op == "DescribeInstanceInformation"]
    assert all(not _filter_keys(p) for p in infos) and len(infos) == -(-len(managed) // 50)


@pytest.mark.slow
async def test_big_scopes_list_everything_under_thirty_percent_throttling(  # type: ignore[no-untyped-def]
    big_env, big_world
) -> None:
    scopes = [Scope("prod", r) for r in REGIONS]
    big_env.set_faults(throttle=0.3)
    try:
        results = [r async for r in InventoryService().stream(scopes)]
    finally:
        big_env.reset_faults()
    assert [r.error for r in results if r.error] == []
    account_of = {"sandbox": "111111111111", "prod": "222222222222", "dev": "333333333333"}
    for result in results:
        expected = _expected(big_world, account_of[result.scope.profile], result.scope.region)
        assert {i.instance_id: i.name for i in result.instances} == expected, result.scope
        assert len(result.instances) == len(expected)


# -- the lean DescribeInstances parse ------------------------------------------------------------


def _ec2_fields(instance: dict[str, Any]) -> tuple:
    return (
        instance["InstanceId"],
        instance.get("State", {}).get("Name"),
        instance.get("InstanceType"),
        instance.get("PrivateIpAddress"),
        sorted((t["Key"], t["Value"]) for t in instance.get("Tags", [])),
    )


async def test_lean_describe_instances_reads_what_botocore_reads(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    async with (
        clients.client("ec2", "prod", "us-east-1") as stock,
        clients.client("ec2", "prod", "us-east-1") as lean_client,
    ):
        lean = lean_ec2(lean_client)
        pages: dict[str, list[dict[str, Any]]] = {}
        for name, ec2 in (("stock", stock), ("lean", lean)):  # pages of 5: NextToken goes through
            paginator = ec2.get_paginator("describe_instances")
            pages[name] = [p async for p in paginator.paginate(PaginationConfig={"PageSize": 5})]
        assert len(pages["stock"]) == len(pages["lean"]) > 1
        for full, cut in zip(pages["stock"], pages["lean"], strict=True):
            assert full.get("NextToken") == cut.get("NextToken")
            assert cut["ResponseMetadata"]["RequestId"]
            assert [
                (r["ReservationId"], [_ec2_fields(i) for i in r["Instances"]])
                for r in full["Reservations"]
            ] == [
                (r["ReservationId"], [_ec2_fields(i) for i in r["Instances"]])
                for r in cut["Reservations"]
            ]
        # markup-like and escaped tag text arrives literally through both
        values = {v for p in pages["lean"] for r in p["Reservations"] for i in r["Instances"]
                  for v in _ec2_fields(i)[4]}  # fmt: skip
        assert any("[" in key + value or "\x1b" in key + value for key, value in values)
        # errors are botocore's own
        with pytest.raises(bce.ClientError) as raised:
            await lean.describe_instances(InstanceIds=["i-0000000000000dead"])
        assert raised.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


async def test_lean_describe_instance_information_equals_botocore(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    async with (
        clients.client("ssm", "prod", "us-east-1") as stock,
        clients.client("ssm", "prod", "us-east-1") as lean_client,
    ):
        lean = lean_ssm(lean_client)
        pages: dict[str, list[dict[str, Any]]] = {}
        for name, ssm in (("stock", stock), ("lean", lean)):
            paginator = ssm.get_paginator("describe_instance_information")
            pages[name] = [p async for p in paginator.paginate(PaginationConfig={"PageSize": 5})]
        assert len(pages["stock"]) == len(pages["lean"]) > 1
        for full, cut in zip(pages["stock"], pages["lean"], strict=True):
            assert full.get("NextToken") == cut.get("NextToken")
            assert full["InstanceInformationList"] == cut["InstanceInformationList"]
            assert cut["ResponseMetadata"]["HTTPStatusCode"] == 200
        nodes = [n for p in pages["lean"] for n in p["InstanceInformationList"]]
        assert all(isinstance(n["LastPingDateTime"], datetime) for n in nodes)
        assert any("RegistrationDate" in n for n in nodes)  # hybrid nodes' own timestamp
        with pytest.raises(bce.ClientError) as raised:
            await lean.describe_instance_information(MaxResults=500)
        assert raised.value.response["Error"]["Code"] == "ValidationException"


# -- the sandbox answers InstanceIds filters as AWS does ------------------------------------------


async def test_instance_ids_filter_leaves_out_unmanaged_and_unknown_ids(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    scope = [
        i for i in world.instances if (i.account_id, i.region) == ("222222222222", "us-east-1")
    ]
    managed = [i.instance_id for i in scope if i.managed]
    unmanaged = [i.instance_id for i in scope if not i.managed]
    assert managed and unmanaged, "the seeded world has both"
    other = next(i.instance_id for i in world.instances if i.account_id != "222222222222")
    asked = [*managed, *unmanaged, other, "i-0123456789abcdef0"]
    async with clients.client("ssm", "prod", "us-east-1") as ssm:
        reply = await ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": asked}]
        )
        assert {i["InstanceId"] for i in reply["InstanceInformationList"]} == set(managed)
        with pytest.raises(bce.ClientError) as raised:
            await ssm.describe_instance_information(
                Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance", "EC2Instance"]}]
            )
        assert raised.value.response["Error"]["Code"] == "InvalidInstanceInformationFilterValue"
        with pytest.raises(bce.ClientError) as raised:  # at most 100 values per filter
            ids = [f"i-{n:017x}" for n in range(101)]
            await ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ids}])
        assert raised.value.response["Error"]["Code"] == "ValidationException"


# -- clients: the config is parsed once per fingerprint, each session keeps its own copy ----------


async def test_sessions_share_one_config_parse_but_not_its_state(  # type: ignore[no-untyped-def]
    sandbox_env, tmp_path, monkeypatch
) -> None:
    config = tmp_path / "config"
    config.write_text(Path(os.environ["AWS_CONFIG_FILE"]).read_text(encoding="utf-8"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    prod = await clients.get_session("prod")
    base = await clients.get_session("sandbox")
    assert prod.full_config is not base.full_config
    # the audit name is written into prod's own copy only
    assert prod.full_config["profiles"]["prod"]["role_session_name"] == "alice"
    assert "role_session_name" not in base.full_config["profiles"]["prod"]
    with pytest.raises(UnknownProfileError):
        await clients.get_session("extra")
    # an edited file is parsed again: its new profile is there for the next session
    with config.open("a", encoding="utf-8") as f:
        f.write("\n[profile extra]\nregion = eu-west-1\nsource_profile = sandbox\n")
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    extra = await clients.get_session("extra")
    assert extra.full_config["profiles"]["extra"]["region"] == "eu-west-1"


async def test_big_scope_with_ec2_throttled_keeps_every_node(
    big_env, big_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: EC2 throttled past its retries on a big scope (the partition needs EC2): the
    plain chain lists every node, and the result says the EC2 detail is missing."""
    from aiobotocore.config import AioConfig

    fewer = clients.BASE_CONFIG.merge(AioConfig(retries={"mode": "standard", "max_attempts": 2}))
    monkeypatch.setattr(clients, "BASE_CONFIG", fewer)
    big_env.set_faults(ec2_throttled_profile="prod")
    try:
        (result,) = [r async for r in InventoryService().stream([Scope("prod", "us-east-1")])]
    finally:
        big_env.reset_faults()
    assert result.error is None, result.error
    managed = big_world.managed("222222222222", "us-east-1")
    assert {i.instance_id for i in result.instances} == {i.instance_id for i in managed}
    assert len(result.instances) == len(managed)
    assert result.partial is not None and result.partial.code == "RequestLimitExceeded"
