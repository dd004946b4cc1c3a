"""The headless device login (`aws/sso_login.py`) against the sandbox's OIDC service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ssm_tui.aws.models import Scope
from ssm_tui.aws.sso_login import DeviceCode, LoginExpired, login_target, sso_login
from tests.sso.conftest import (
    SSO_PROFILE,
    botocore_home,
    open_in_browser,
    read_json,
    token_file,
)


async def _list(profile: str) -> object:
    from ssm_tui.aws.inventory import InventoryService

    async with InventoryService() as inventory:
        results = [r async for r in inventory.stream([Scope(profile, "us-east-1")])]
    return results[0]


async def test_expired_profile_fails_then_device_login_makes_it_list(expired_env) -> None:  # type: ignore[no-untyped-def]
    before = await _list(SSO_PROFILE)
    assert before.error is not None and before.error.code == "SSOTokenExpired"

    shown: list[DeviceCode] = []
    pages: list[str] = []

    def on_code(code: DeviceCode) -> None:
        shown.append(code)
        # the person opens the URL in a browser (off this loop, as a browser would be)
        asyncio.get_running_loop().run_in_executor(
            None, lambda: pages.append(open_in_browser(code.verification_uri_complete))
        )

    result = await asyncio.wait_for(sso_login(SSO_PROFILE, on_code), 60)
    assert len(shown) == 1
    assert shown[0].verification_uri == expired_env.endpoint + "/device"
    assert shown[0].user_code in shown[0].verification_uri_complete
    assert "Request approved" in pages[0]

    cached = read_json(token_file(botocore_home(), expired_env))
    assert Path(result.cache_file) == token_file(botocore_home(), expired_env)
    assert cached["startUrl"] == result.target.start_url
    assert {"accessToken", "expiresAt", "clientId", "clientSecret", "refreshToken"} <= set(cached)

    from ssm_tui.aws import clients

    clients.forget_sessions()
    after = await _list(SSO_PROFILE)
    assert after.error is None
    from ssm_tui.sandbox.world import build_world

    world = build_world(expired_env.info["seed"], expired_env.info["instances"])
    expected = {
        i.instance_id
        for i in world.instances
        if i.account_id == "333333333333" and i.region == "us-east-1" and i.ping_status
    }
    assert expected and {i.instance_id for i in after.instances} == expected


def test_login_target_names_the_profiles_sharing_the_session(expired_env) -> None:  # type: ignore[no-untyped-def]
    target = login_target(SSO_PROFILE)
    assert target.session_name and target.session_name.startswith("ssm-tui-sandbox-")
    assert target.scopes == ("sso:account:access",)
    assert target.profiles == (SSO_PROFILE,)


def test_a_profile_without_sso_says_so(expired_env) -> None:  # type: ignore[no-untyped-def]
    from ssm_tui.aws.sso_login import NotSsoProfile

    with pytest.raises(NotSsoProfile, match="does not use IAM Identity Center"):
        login_target("prod")


async def test_cancelled_login_leaves_the_cache_as_it_was(expired_env) -> None:  # type: ignore[no-untyped-def]
    path = token_file(botocore_home(), expired_env)
    before = path.read_bytes()
    asked = asyncio.Event()
    task = asyncio.create_task(sso_login(SSO_PROFILE, lambda code: asked.set()))
    await asyncio.wait_for(asked.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert path.read_bytes() == before
    assert not list(path.parent.glob("*.tmp"))


async def test_code_not_approved_in_time_is_expired(expired_env) -> None:  # type: ignore[no-untyped-def]
    expired_env.sso_oidc(device_code_ttl=1)
    path = token_file(botocore_home(), expired_env)
    before = path.read_bytes()
    with pytest.raises(LoginExpired, match="expired before it was approved"):
        await asyncio.wait_for(sso_login(SSO_PROFILE, lambda code: None), 60)
    assert path.read_bytes() == before


async def test_slow_down_makes_the_client_wait_five_seconds_more(expired_env) -> None:  # type: ignore[no-untyped-def]
    """A client whose sleep returns at once polls too fast: the service says SlowDown, and the
    next wait is the interval plus 5 s (RFC 8628 §3.5), as the aws-cli's fetcher does."""
    waits: list[float] = []

    class Stop(Exception):
        pass

    async def hasty_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise Stop

    with pytest.raises(Stop):
        await sso_login(SSO_PROFILE, lambda code: None, sleep=hasty_sleep)
    assert waits == [1, 6]


async def test_botocore_renews_the_login_with_its_refresh_token(expired_env) -> None:  # type: ignore[no-untyped-def]
    """A token written by the login that is about to expire is renewed by botocore's own
    `SSOTokenProvider` (CreateToken with `refresh_token`, against the sandbox) on next use."""
    expired_env.sso_oidc(token_ttl=120)  # inside botocore's 15-minute refresh window
    code: list[DeviceCode] = []

    def on_code(shown: DeviceCode) -> None:
        code.append(shown)
        asyncio.get_running_loop().run_in_executor(
            None, open_in_browser, shown.verification_uri_complete
        )

    await asyncio.wait_for(sso_login(SSO_PROFILE, on_code), 60)
    path = token_file(botocore_home(), expired_env)
    first = read_json(path)

    from ssm_tui.aws import clients

    clients.forget_sessions()
    listed = await _list(SSO_PROFILE)
    assert listed.error is None and listed.instances
    renewed = read_json(path)
    assert renewed["accessToken"] != first["accessToken"]
    assert renewed["refreshToken"] != first["refreshToken"]
    assert renewed["clientId"] == first["clientId"]


async def test_a_registration_the_service_forgot_is_made_again(expired_env) -> None:  # type: ignore[no-untyped-def]
    """A cached client registration the service rejects (InvalidClientException) is replaced."""
    import json

    from ssm_tui.aws.sso_login import registration_cache_key

    target = login_target(SSO_PROFILE)
    path = botocore_home() / ".aws" / "sso" / "cache" / f"{registration_cache_key(target)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    forgotten = {"clientId": "gone", "clientSecret": "gone", "expiresAt": "2099-01-01T00:00:00Z"}
    path.write_text(json.dumps(forgotten))
    asked = asyncio.Event()
    task = asyncio.create_task(sso_login(SSO_PROFILE, lambda code: asked.set()))
    await asyncio.wait_for(asked.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert read_json(path)["clientId"] != "gone"


async def test_profiles_discovered_through_the_login_are_of_the_same_login(expired_env) -> None:  # type: ignore[no-untyped-def]
    from ssm_tui.aws.accounts import discover_sso
    from ssm_tui.aws.profiles import load_profiles
    from ssm_tui.aws.sso_login import same_login

    def approve(code: DeviceCode) -> None:
        asyncio.get_running_loop().run_in_executor(
            None, open_in_browser, code.verification_uri_complete
        )

    result = await asyncio.wait_for(sso_login(SSO_PROFILE, approve), 60)
    found, errors = await discover_sso(load_profiles())
    assert not errors and found
    widened = same_login(result, ["prod", *(p.name for p in found)])
    assert widened.target.profiles == (SSO_PROFILE, *(p.name for p in found))
