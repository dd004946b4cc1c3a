"""Session history against the sandbox: DescribeSessions (all pages, all scopes) + local record."""

from __future__ import annotations

from typing import Any

import boto3

from ssm_tui.aws.history import fetch_history, who_else
from ssm_tui.aws.models import Scope, StartedSession
from ssm_tui.aws.models.history import others_connected
from ssm_tui.store import Store
from tests.history.conftest import ACCOUNT, PROFILE, REGION, Ran, drive, linux_target, start_session

SCOPE = Scope(PROFILE, REGION)


async def test_active_session_is_listed_then_ends_in_history(aws: Any) -> None:
    target = await linux_target()
    started = await start_session(target, Reason="deploy [bold]fix[/bold]")
    active = await fetch_history([SCOPE], target=target, states=("Active",))
    row = next(s for s in active.sessions if s.session_id == started["SessionId"])
    assert row.active and row.status == "Connected"
    assert row.owner == f"arn:aws:iam::{ACCOUNT}:user/alice" and row.owner_name == "alice"
    assert row.reason == "deploy [bold]fix[/bold]"  # literal, as AWS returned it
    assert row.account_id == ACCOUNT and row.profile == PROFILE and row.source == "aws"

    await drive(started, [b"echo bye\r"])
    after = await fetch_history([SCOPE], target=target)
    row = next(s for s in after.sessions if s.session_id == started["SessionId"])
    assert not row.active and row.status == "Terminated" and row.end is not None
    assert row.cloudwatch_output and row.s3_output  # where the transcript went


async def test_every_page_is_read(aws: Any, finished: Ran) -> None:
    extra = await start_session(finished.target)
    try:
        paged = await fetch_history([SCOPE], page_size=1)
        whole = await fetch_history([SCOPE])
        ids = {s.session_id for s in paged.sessions}
        assert {finished.session_id, extra["SessionId"]} <= ids
        assert ids == {s.session_id for s in whole.sessions}
    finally:
        await drive(extra, [])


async def test_local_record_is_merged_by_session_id(aws: Any, finished: Ran, tmp_path) -> None:
    store = Store(tmp_path / "record.sqlite3")
    started = StartedSession(
        finished.session_id, "token-never-stored", "ws://x", finished.target, REGION, PROFILE
    )
    store.record_session_start(started, account_id=ACCOUNT, plugin="builtin")
    store.record_session_end(finished.session_id, exit_status=3)
    gone = StartedSession("alice-00000000000000000", "t", "ws://x", "i-gone", REGION, PROFILE)
    store.record_session_start(gone, account_id=ACCOUNT, plugin="official")

    result = await fetch_history([SCOPE], store=store)
    by_id = {s.session_id: s for s in result.sessions}
    both = by_id[finished.session_id]
    assert both.source == "both" and both.plugin == "builtin" and both.exit_status == 3
    assert both.owner_name == "alice"  # AWS's facts kept
    local_only = by_id["alice-00000000000000000"]
    assert local_only.source == "local" and local_only.target == "i-gone"

    only_target = await fetch_history([SCOPE], target=finished.target, store=store)
    assert all(s.target == finished.target for s in only_target.sessions)


async def test_failing_profile_never_hides_the_others(aws: Any, finished: Ran) -> None:
    aws.set_faults(broken_profile="dev")
    try:
        result = await fetch_history([SCOPE, Scope("dev", "eu-west-1")])
    finally:
        aws.reset_faults()
    assert finished.session_id in {s.session_id for s in result.sessions}
    assert [e.profile for e in result.errors] == ["dev"]
    assert result.errors[0].hint  # says what to do next


async def test_who_else_is_connected_now(aws: Any) -> None:
    """Bob (another role session) is connected: alice sees him, not herself."""
    target = await linux_target()
    mine = await start_session(target)
    creds = (
        boto3.Session(profile_name=PROFILE)
        .client("sts")
        .assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/SSMOperator", RoleSessionName="bob")[
            "Credentials"
        ]
    )
    bob_ssm = boto3.client(
        "ssm",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    bobs = bob_ssm.start_session(Target=target)
    try:
        others = await who_else([SCOPE], target)
        assert [s.session_id for s in others] == [bobs["SessionId"]]
        assert others[0].owner_name == "bob"
        history = await fetch_history([SCOPE], target=target)
        assert others_connected(history.sessions, target, ["alice"]) == others
    finally:
        bob_ssm.terminate_session(SessionId=bobs["SessionId"])
        await drive(mine, [])
    assert await who_else([SCOPE], target) == []
