"""Issue 13: a session started with `prod-readonly` is shown as prod-readonly, not as the `prod`
profile that sees the same account's sessions."""

from __future__ import annotations

import asyncio

import botocore.session

from ssm_tui.aws.history import fetch_history
from ssm_tui.aws.models import Scope


def test_history_names_the_profile_whose_role_started_the_session(sandbox_env, world) -> None:  # type: ignore[no-untyped-def]
    ssm = botocore.session.Session(profile="prod-readonly").create_client(
        "ssm", region_name="us-east-1"
    )
    target = next(
        i.instance_id
        for i in world.managed("222222222222", "us-east-1")
        if i.ping_status == "Online"
    )
    session_id = ssm.start_session(Target=target)["SessionId"]
    try:
        scopes = [Scope("prod", "us-east-1"), Scope("prod-readonly", "us-east-1")]
        result = asyncio.run(fetch_history(scopes, states=("Active",)))
    finally:
        ssm.terminate_session(SessionId=session_id)
    (row,) = [s for s in result.sessions if s.session_id == session_id]
    assert row.profile == "prod-readonly", row.owner
