"""Audit attribution: sessions started through an assume-role profile carry the user's name."""

from __future__ import annotations

from ssm_tui.aws.clients import caller_name_from_arn, client, sanitize_role_session_name
from ssm_tui.aws.settings import settings_path


def _online_ec2(world, account_id: str, region: str) -> str:  # type: ignore[no-untyped-def]
    for instance in world.managed(account_id, region):
        if (
            instance.is_ec2
            and instance.ping_status == "Online"
            and "Restricted" not in instance.tags
        ):
            return instance.instance_id
    raise AssertionError("no online instance seeded")


async def _start_and_stop(profile: str, target: str) -> str:
    async with client("ssm", profile, "us-east-1") as ssm:
        reply = await ssm.start_session(Target=target)
        await ssm.terminate_session(SessionId=reply["SessionId"])
    return reply["SessionId"]


async def test_session_ids_through_prod_begin_with_the_user_name(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    target = _online_ec2(world, "222222222222", "us-east-1")
    session_id = await _start_and_stop("prod", target)
    assert session_id.startswith("alice-"), session_id
    assert not session_id.startswith("botocore-session")
    async with client("sts", "prod", "us-east-1") as sts:
        arn = (await sts.get_caller_identity())["Arn"]
    assert arn == "arn:aws:sts::222222222222:assumed-role/SSMOperator/alice"


async def test_configured_role_session_name_is_kept(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    async with client("sts", "dev", "eu-west-1") as sts:
        arn = (await sts.get_caller_identity())["Arn"]
    assert arn.endswith(":assumed-role/SSMOperator/alice")


async def test_setting_turns_the_fix_off(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[profiles.prod]\naudit_role_session_name = false\n")
    target = _online_ec2(world, "222222222222", "us-east-1")
    session_id = await _start_and_stop("prod", target)
    assert session_id.startswith("botocore-session-"), session_id


def test_names_from_arns_and_sanitizing() -> None:
    assert caller_name_from_arn("arn:aws:iam::111111111111:user/alice") == "alice"
    assert caller_name_from_arn("arn:aws:iam::111111111111:user/team/bob") == "bob"
    assert caller_name_from_arn("arn:aws:sts::2:assumed-role/Admin/carol@example.com") == (
        "carol@example.com"
    )
    assert caller_name_from_arn("arn:aws:iam::111111111111:root") is None
    assert sanitize_role_session_name("Jean Dupont/ü") == "Jean-Dupont--"
    clean = sanitize_role_session_name("Jean Dupont/(x)")
    assert clean == "Jean-Dupont--x-"
    assert len(sanitize_role_session_name("a" * 100)) == 64
    assert len(sanitize_role_session_name("a")) >= 2
