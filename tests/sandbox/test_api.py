"""The shared sandbox process driven with boto3: accounts, fleet, sessions, errors, SSO."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ssm_tui.sandbox.world import ACCOUNTS, PROFILES, build_world

WORLD = build_world()  # the shared sandbox runs the default seed and fleet
PROFILE_SCOPE = {
    profile.name: (
        (profile.role_arn.split(":")[4] if profile.role_arn else None)
        or profile.sso_account_id
        or ACCOUNTS["management"],
        profile.region,
    )
    for profile in PROFILES
}


def _paginate(client, operation: str, key: str, **kwargs) -> list[dict]:
    items: list[dict] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items += page[key]
    return items


def _error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


@pytest.mark.parametrize("profile", [p.name for p in PROFILES])
def test_each_profile_sees_its_own_account_and_fleet(client, profile: str) -> None:
    account, region = PROFILE_SCOPE[profile]
    identity = client(profile, "sts").get_caller_identity()
    assert identity["Account"] == account

    managed = _paginate(
        client(profile, "ssm"), "describe_instance_information", "InstanceInformationList"
    )
    expected = {i.instance_id for i in WORLD.managed(account, region)}
    assert {info["InstanceId"] for info in managed} == expected
    assert expected, "every profile's home region has managed instances"

    reservations = _paginate(client(profile, "ec2"), "describe_instances", "Reservations")
    ec2 = {r["Instances"][0]["InstanceId"]: r["Instances"][0] for r in reservations}
    assert set(ec2) == {i.instance_id for i in WORLD.ec2(account, region)}
    # EC2 instances that are managed appear in both APIs, consistently.
    for info in managed:
        if info["ResourceType"] == "EC2Instance":
            instance = ec2[info["InstanceId"]]
            assert instance["PrivateIpAddress"] == info["IPAddress"]
            running = instance["State"]["Name"] == "running"
            assert running == (info["PingStatus"] == "Online")
        else:
            assert info["InstanceId"].startswith("mi-")
            assert info["InstanceId"] not in ec2


def test_assume_role_names_the_session_as_botocore_does(client) -> None:
    prod = client("prod", "sts").get_caller_identity()["Arn"]
    dev = client("dev", "sts").get_caller_identity()["Arn"]
    readonly = client("prod-readonly", "sts").get_caller_identity()["Arn"]
    assert re.fullmatch(
        r"arn:aws:sts::222222222222:assumed-role/SSMOperator/botocore-session-\d+", prod
    )
    assert dev == "arn:aws:sts::333333333333:assumed-role/SSMOperator/alice"
    assert readonly.startswith("arn:aws:sts::222222222222:assumed-role/ReadOnly/")
    base = client("sandbox", "sts").get_caller_identity()
    assert base["Arn"] == "arn:aws:iam::111111111111:user/alice"


def test_fleet_has_the_promised_variety() -> None:
    platforms = {i.platform_type for i in WORLD.instances}
    states = {i.ping_status for i in WORLD.instances}
    assert platforms == {"Linux", "Windows", "MacOS"}
    assert {"Online", "ConnectionLost", "Inactive", None} <= states
    assert len(WORLD.instances) == 40
    assert len({(i.account_id, i.region) for i in WORLD.instances}) == 6
    tags = [v for i in WORLD.instances for v in i.tags.values()]
    assert any("[bold]" in v for v in tags) and any("\x1b[" in v for v in tags)
    assert any("数据" in v for v in tags) and any("🚀" in v for v in tags)
    assert build_world().by_id.keys() == WORLD.by_id.keys()  # deterministic per seed
    assert build_world(seed=7).by_id.keys() != WORLD.by_id.keys()


def test_markup_like_tags_come_back_literally(client) -> None:
    ssm = client("prod", "ssm")
    scanner = next(
        i for i in WORLD.managed(*PROFILE_SCOPE["prod"]) if i.name == "warehouse-scanner"
    )
    tags = ssm.list_tags_for_resource(
        ResourceType="ManagedInstance", ResourceId=scanner.instance_id
    )
    assert {"Key": "Note", "Value": "\x1b[31mRED ALERT\x1b[0m"} in tags["TagList"]
    web3 = next(i for i in WORLD.ec2(*PROFILE_SCOPE["prod"]) if i.name.startswith("[bold"))
    described = client("prod", "ec2").describe_instances(InstanceIds=[web3.instance_id])
    tags = described["Reservations"][0]["Instances"][0]["Tags"]
    assert {"Key": "Name", "Value": "[bold red]web-3[/]"} in tags
    ec2_tags = ssm.list_tags_for_resource(
        ResourceType="ManagedInstance", ResourceId=web3.instance_id
    )
    assert {"Key": "Name", "Value": "[bold red]web-3[/]"} in ec2_tags["TagList"]
    with pytest.raises(ClientError) as error:
        ssm.list_tags_for_resource(
            ResourceType="ManagedInstance", ResourceId="mi-0000000000000000f"
        )
    assert _error_code(error) == "InvalidResourceId"


def test_describe_instance_information_filters_and_pages(client) -> None:
    ssm = client("prod", "ssm")
    account, region = PROFILE_SCOPE["prod"]
    world = WORLD.managed(account, region)
    online = ssm.describe_instance_information(
        Filters=[{"Key": "PingStatus", "Values": ["Online"]}]
    )["InstanceInformationList"]
    assert {i["InstanceId"] for i in online} == {
        i.instance_id for i in world if i.ping_status == "Online"
    }
    hybrid = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "ResourceType", "valueSet": ["ManagedInstance"]}]
    )["InstanceInformationList"]
    assert hybrid and all(i["InstanceId"].startswith("mi-") for i in hybrid)
    assert all(i["Name"] and i["RegistrationDate"] for i in hybrid)
    windows = ssm.describe_instance_information(
        Filters=[{"Key": "PlatformTypes", "Values": ["Windows"]}]
    )["InstanceInformationList"]
    assert [i["PlatformName"] for i in windows] == ["Microsoft Windows Server 2022 Datacenter"]
    by_tag = ssm.describe_instance_information(
        Filters=[{"Key": "tag:Name", "Values": ["web-1", "web-2"]}]
    )["InstanceInformationList"]
    assert len(by_tag) == 2
    pages = list(
        ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 5}
        )
    )
    assert len(pages) == -(-len(world) // 5) and len(pages) > 1
    assert [i["InstanceId"] for p in pages for i in p["InstanceInformationList"]] == [
        i.instance_id for i in world
    ]
    first = pages[0]["InstanceInformationList"][0]
    for field in ("AgentVersion", "ComputerName", "IPAddress", "LastPingDateTime", "PlatformType"):
        assert first[field]
    with pytest.raises(ClientError) as error:
        ssm.describe_instance_information(MaxResults=51)
    assert _error_code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        ssm.describe_instance_information(Filters=[{"Key": "Colour", "Values": ["red"]}])
    assert _error_code(error) == "InvalidFilterKey"
    with pytest.raises(ClientError) as error:
        ssm.describe_instance_information(NextToken="not-a-token")
    assert _error_code(error) == "InvalidNextToken"


def test_describe_instances_filters(client) -> None:
    ec2 = client("prod", "ec2")
    stopped = _paginate(
        ec2,
        "describe_instances",
        "Reservations",
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}],
    )
    names = {t["Value"] for r in stopped for t in r["Instances"][0]["Tags"] if t["Key"] == "Name"}
    assert names == {i.name for i in WORLD.ec2(*PROFILE_SCOPE["prod"]) if i.ec2_state == "stopped"}
    assert "batch-worker" in names
    web = _paginate(
        ec2,
        "describe_instances",
        "Reservations",
        Filters=[{"Name": "tag:Name", "Values": ["web-*"]}],
    )
    expected = {
        i.instance_id for i in WORLD.ec2(*PROFILE_SCOPE["prod"]) if i.name.startswith("web-")
    }
    assert {r["Instances"][0]["InstanceId"] for r in web} == expected
    assert len(expected) >= 2
    with pytest.raises(ClientError) as error:
        ec2.describe_instances(InstanceIds=["i-00000000000000000"])
    assert _error_code(error) == "InvalidInstanceID.NotFound"


def test_get_inventory_instance_information_filters(client) -> None:
    ssm = client("prod", "ssm")
    account, region = PROFILE_SCOPE["prod"]
    world = WORLD.managed(account, region)
    not_terminated = _paginate(
        ssm,
        "get_inventory",
        "Entities",
        Filters=[
            {
                "Key": "AWS:InstanceInformation.InstanceStatus",
                "Values": ["Terminated"],
                "Type": "NotEqual",
            }
        ],
    )
    assert {e["Id"] for e in not_terminated} == {
        i.instance_id for i in world if i.ping_status != "Inactive"
    }
    linux = _paginate(
        ssm,
        "get_inventory",
        "Entities",
        Filters=[
            {"Key": "AWS:InstanceInformation.PlatformType", "Values": ["Linux"], "Type": "Equal"}
        ],
    )
    content = linux[0]["Data"]["AWS:InstanceInformation"]["Content"][0]
    assert content["PlatformType"] == "Linux" and content["InstanceId"] == linux[0]["Id"]
    assert len(linux) == sum(1 for i in world if i.platform_type == "Linux")


def test_session_lifecycle_active_then_history(client, sandbox) -> None:
    ssm = client("dev", "ssm")
    account, region = PROFILE_SCOPE["dev"]
    target = next(i for i in WORLD.managed(account, region) if i.ping_status == "Online")
    started = ssm.start_session(Target=target.instance_id, Reason="sandbox test")
    session_id = started["SessionId"]
    assert re.fullmatch(r"alice-[0-9a-f]{17}", session_id)
    port = sandbox.endpoint.rsplit(":", 1)[1]
    assert re.fullmatch(
        rf"ws://127\.0\.0\.1:{port}/v1/data-channel/{session_id}"
        r"\?role=publish_subscribe&cell-number=[A-Za-z0-9_-]+",
        started["StreamUrl"],
    )
    assert started["TokenValue"]
    try:
        active = ssm.describe_sessions(
            State="Active", Filters=[{"key": "SessionId", "value": session_id}]
        )["Sessions"]
        assert [s["Status"] for s in active] == ["Connected"]
        assert active[0]["Owner"] == "arn:aws:sts::333333333333:assumed-role/SSMOperator/alice"
        assert active[0]["DocumentName"] == "SSM-SessionManagerRunShell"
        assert active[0]["Reason"] == "sandbox test"
        resumed = ssm.resume_session(SessionId=session_id)
        assert resumed["TokenValue"] and resumed["TokenValue"] != started["TokenValue"]
        # other accounts cannot see or end it
        assert not client("prod", "ssm", region=region).describe_sessions(State="Active")[
            "Sessions"
        ]
    finally:
        assert ssm.terminate_session(SessionId=session_id)["SessionId"] == session_id
    assert not ssm.describe_sessions(
        State="Active", Filters=[{"key": "SessionId", "value": session_id}]
    )["Sessions"]
    history = ssm.describe_sessions(
        State="History", Filters=[{"key": "SessionId", "value": session_id}]
    )["Sessions"]
    assert [s["Status"] for s in history] == ["Terminated"]
    assert history[0]["EndDate"] >= history[0]["StartDate"]
    # an ended session's stream is refused before the websocket is accepted
    with pytest.raises(InvalidStatus) as refused:
        connect(started["StreamUrl"], open_timeout=5).close()
    assert refused.value.response.status_code == 403
    assert "TokenValue" not in ssm.resume_session(SessionId=session_id)


def test_unknown_stream_is_refused(sandbox) -> None:
    url = sandbox.endpoint.replace("http", "ws", 1) + "/v1/data-channel/nobody-00000000000000000"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5).close()
    assert refused.value.response.status_code == 403


def test_describe_sessions_filters_and_pages(client) -> None:
    ssm = client("sandbox", "ssm")
    account, region = PROFILE_SCOPE["sandbox"]
    online = [i for i in WORLD.managed(account, region) if i.ping_status == "Online"]
    ids = [ssm.start_session(Target=online[n % 2].instance_id)["SessionId"] for n in range(3)]
    try:
        assert all(re.fullmatch(r"alice-[0-9a-f]{17}", sid) for sid in ids)
        mine = ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": online[0].instance_id}]
        )["Sessions"]
        assert {s["SessionId"] for s in mine} >= {ids[0], ids[2]}
        assert ids[1] not in {s["SessionId"] for s in mine}
        owner = "arn:aws:iam::111111111111:user/alice"
        by_owner = _paginate(
            ssm,
            "describe_sessions",
            "Sessions",
            State="Active",
            Filters=[{"key": "Owner", "value": owner}],
            PaginationConfig={"PageSize": 1},
        )
        assert set(ids) <= {s["SessionId"] for s in by_owner}
        later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert not ssm.describe_sessions(
            State="Active", Filters=[{"key": "InvokedAfter", "value": later}]
        )["Sessions"]
        with pytest.raises(ClientError) as error:
            ssm.describe_sessions(State="Active", Filters=[{"key": "Colour", "value": "x"}])
        assert _error_code(error) == "InvalidFilterKey"
    finally:
        for sid in ids:
            ssm.terminate_session(SessionId=sid)


def test_start_session_checks_target_document_and_access(client) -> None:
    account, region = PROFILE_SCOPE["prod"]
    restricted = next(
        i for i in WORLD.managed(account, region) if i.tags.get("Restricted") == "true"
    )
    lost = next(i for i in WORLD.managed(account, region) if i.ping_status == "ConnectionLost")
    readonly = client("prod-readonly", "ssm")
    with pytest.raises(ClientError) as error:
        readonly.start_session(Target=restricted.instance_id)
    assert _error_code(error) == "AccessDeniedException"
    assert "ssm:StartSession" in str(error.value)
    operator = client("prod", "ssm")
    allowed = operator.start_session(Target=restricted.instance_id)
    operator.terminate_session(SessionId=allowed["SessionId"])
    with pytest.raises(ClientError) as error:
        operator.start_session(Target=lost.instance_id)
    assert _error_code(error) == "TargetNotConnected"
    elsewhere = next(i for i in WORLD.managed(*PROFILE_SCOPE["dev"]) if i.ping_status == "Online")
    with pytest.raises(ClientError) as error:
        operator.start_session(Target=elsewhere.instance_id)
    assert _error_code(error) == "TargetNotConnected"
    online = next(i for i in WORLD.managed(account, region) if i.ping_status == "Online")
    with pytest.raises(ClientError) as error:
        operator.start_session(Target=online.instance_id, DocumentName="No-Such-Document")
    assert _error_code(error) == "InvalidDocument"
    status = operator.get_connection_status(Target=online.instance_id)["Status"]
    assert status == "connected"
    assert operator.get_connection_status(Target=lost.instance_id)["Status"] == "notconnected"
    forward = operator.start_session(
        Target=online.instance_id,
        DocumentName="AWS-StartPortForwardingSession",
        Parameters={"portNumber": ["8080"]},
    )
    operator.terminate_session(SessionId=forward["SessionId"])


def test_session_documents_and_logging_destinations(client) -> None:
    for profile in ("sandbox", "prod", "dev"):
        ssm = client(profile, "ssm")
        names = {
            "SSM-SessionManagerRunShell",
            "AWS-StartInteractiveCommand",
            "AWS-StartNonInteractiveCommand",
            "AWS-StartPortForwardingSession",
            "AWS-StartPortForwardingSessionToRemoteHost",
            "AWS-StartSSHSession",
        }
        for name in names:
            assert ssm.describe_document(Name=name)["Document"]["DocumentType"] == "Session"
        shell = json.loads(ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"])
        inputs = shell["inputs"]
        groups = client(profile, "logs").describe_log_groups(
            logGroupNamePrefix=inputs["cloudWatchLogGroupName"]
        )["logGroups"]
        assert [g["logGroupName"] for g in groups] == [inputs["cloudWatchLogGroupName"]]
        client(profile, "s3").head_bucket(Bucket=inputs["s3BucketName"])
        assert inputs["s3KeyPrefix"]


def test_organization_lists_the_three_accounts(client) -> None:
    accounts = client("sandbox", "organizations").list_accounts()["Accounts"]
    assert {a["Id"]: a["Name"] for a in accounts} == {v: k for k, v in ACCOUNTS.items()}
    aliases = client("prod", "iam").list_account_aliases()["AccountAliases"]
    assert aliases == ["acme-prod"]


def test_sso_profile_resolves_through_the_portal(client, sandbox) -> None:
    identity = client("sso-dev", "sts").get_caller_identity()
    assert identity["Account"] == "333333333333"
    assert re.fullmatch(
        r"arn:aws:sts::333333333333:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]+/alice",
        identity["Arn"],
    )
    token_file = next((sandbox.directory / "sso-cache").glob("*.json"))
    token = json.loads(token_file.read_text())["accessToken"]
    portal = client("sso-dev", "sso", region="us-east-1")
    accounts = portal.list_accounts(accessToken=token)["accountList"]
    assert {a["accountId"] for a in accounts} == set(ACCOUNTS.values())
    roles = portal.list_account_roles(accessToken=token, accountId="222222222222")["roleList"]
    assert "AdministratorAccess" in {r["roleName"] for r in roles}
    with pytest.raises(ClientError) as error:
        portal.list_accounts(accessToken="not-the-token")
    assert _error_code(error) == "UnauthorizedException"
    # the token reaches the other accounts too
    creds = portal.get_role_credentials(
        accessToken=token, accountId="222222222222", roleName="ReadOnlyAccess"
    )["roleCredentials"]
    import boto3

    other = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    assert other.get_caller_identity()["Account"] == "222222222222"


def test_throttling_fault_in_each_protocol(client, sandbox) -> None:
    sandbox.set_faults(throttle=1.0)
    try:
        with pytest.raises(ClientError) as error:
            client("sandbox", "ssm").describe_instance_information()
        assert _error_code(error) == "ThrottlingException"
        with pytest.raises(ClientError) as error:
            client("sandbox", "ec2").describe_instances()
        assert _error_code(error) == "RequestLimitExceeded"
        with pytest.raises(ClientError) as error:
            client("sandbox", "logs").describe_log_groups()
        assert _error_code(error) == "ThrottlingException"
        with pytest.raises(ClientError) as error:
            client("sandbox", "sts").get_caller_identity()
        assert _error_code(error) == "Throttling"
    finally:
        sandbox.reset_faults()
    assert client("sandbox", "ssm").describe_instance_information()["InstanceInformationList"]


def test_broken_profile_is_rejected_as_expired_and_hides_no_other(client, sandbox) -> None:
    prod_ssm = client("prod", "ssm")
    prod_ec2 = client("prod", "ec2")
    sandbox.set_faults(broken_profile="prod")
    try:
        assert sandbox.faults()["broken_profile"] == "prod"
        with pytest.raises(ClientError) as error:
            prod_ssm.describe_instance_information()
        assert _error_code(error) == "ExpiredTokenException"
        with pytest.raises(ClientError) as error:
            prod_ec2.describe_instances()
        assert _error_code(error) == "ExpiredToken"
        # same account through another role, and the base profile, still work
        assert client("prod-readonly", "ssm").describe_instance_information()[
            "InstanceInformationList"
        ]
        assert client("dev", "ssm").describe_instance_information()["InstanceInformationList"]
    finally:
        sandbox.reset_faults()
    assert prod_ssm.describe_instance_information()["InstanceInformationList"]


def test_admin_endpoint_validates_changes(sandbox) -> None:
    from ssm_tui.demo import SandboxError

    try:
        current = sandbox.set_faults(latency_ms=5, drop_sessions_after=2.5)
        assert current["latency_ms"] == 5 and current["drop_sessions_after"] == 2.5
        with pytest.raises(SandboxError, match="unknown fault"):
            sandbox.set_faults(colour="red")
        with pytest.raises(SandboxError, match="between 0 and 1"):
            sandbox.set_faults(throttle=3)
    finally:
        sandbox.reset_faults()
    assert sandbox.faults() == {
        "latency_ms": 0,
        "throttle": 0.0,
        "broken_profile": None,
        "ec2_throttled_profile": None,
        "ec2_denied_profile": None,
        "sessions_denied_profile": None,
        "sessions_throttled_profile": None,
        "drop_sessions_after": None,
        "socket_lifetime": None,
        "data_channel_outage": None,
        "data_channel_latency": 0,
    }


async def test_aiobotocore_resolves_every_profile_kind(sandbox_env) -> None:
    """The app's own client library (aiobotocore) sees the same accounts, SSO included."""
    from aiobotocore.session import AioSession

    for profile, account in (("prod", "222222222222"), ("sso-dev", "333333333333")):
        session = AioSession(profile=profile)
        async with session.create_client("sts") as sts:
            assert (await sts.get_caller_identity())["Account"] == account
        async with session.create_client("ssm") as ssm:
            listed = await ssm.describe_instance_information()
            region = PROFILE_SCOPE[profile][1]
            assert {i["InstanceId"] for i in listed["InstanceInformationList"]} == {
                i.instance_id for i in WORLD.managed(account, region)
            }


def test_keys_aws_never_issued_are_rejected(sandbox_env) -> None:
    import boto3

    from tests.sandbox.conftest import NO_RETRY

    session = boto3.Session(
        aws_access_key_id="AKIAUNKNOWNKEY000000",
        aws_secret_access_key="secret",
        region_name="us-east-1",
    )
    expected = {
        "sts": ("get_caller_identity", {}, "InvalidClientTokenId"),
        "ssm": ("describe_instance_information", {}, "UnrecognizedClientException"),
        "ec2": ("describe_instances", {}, "AuthFailure"),
    }
    for service, (operation, kwargs, code) in expected.items():
        with pytest.raises(ClientError) as error:
            getattr(session.client(service, config=NO_RETRY), operation)(**kwargs)
        assert _error_code(error) == code
