"""Accounts, aliases and IAM Identity Center discovery against the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ssm_tui.aws.accounts import discover_sso, group_accounts, load_sso_token, sso_cache_dir
from ssm_tui.aws.errors import CredentialsError
from ssm_tui.aws.inventory import InventoryService
from ssm_tui.aws.models import ProfileKind, Scope
from ssm_tui.aws.profiles import get_profile, load_profiles


async def test_profiles_grouped_by_account_with_aliases(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    accounts, errors = await group_accounts(load_profiles())
    assert errors == []
    by_id = {a.account_id: a for a in accounts}
    assert set(by_id) == {"111111111111", "222222222222", "333333333333"}
    assert by_id["111111111111"].profiles == ("sandbox",)
    assert by_id["222222222222"].profiles == ("prod", "prod-readonly")
    assert by_id["333333333333"].profiles == ("dev", "sso-dev")
    assert by_id["222222222222"].label == "acme-prod"
    assert by_id["111111111111"].label == "acme-mgmt"


async def test_a_broken_profile_does_not_hide_the_other_accounts(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    sandbox_env.set_faults(broken_profile="sandbox")
    try:
        sandbox = get_profile("sandbox")
        sso = get_profile("sso-dev")
        accounts, errors = await group_accounts([sandbox, sso], aliases=False)
    finally:
        sandbox_env.reset_faults()
    assert [a.account_id for a in accounts] == ["333333333333"]
    assert [e.profile for e in errors] == ["sandbox"]
    assert "expired" in errors[0].message.lower()


async def test_sso_discovery_offers_the_other_accounts_without_editing_files(
    sandbox_env,  # type: ignore[no-untyped-def]
) -> None:
    config = Path(sandbox_env.env["AWS_CONFIG_FILE"])
    before = config.read_bytes()
    found, errors = await discover_sso(load_profiles())
    assert errors == []
    assert config.read_bytes() == before
    reached = {(p.account_id, p.sso_role_name) for p in found}
    assert ("111111111111", "AdministratorAccess") in reached
    assert ("222222222222", "AdministratorAccess") in reached
    # the written sso-dev profile already covers this one
    assert ("333333333333", "AdministratorAccess") not in reached
    assert all(p.discovered and p.kind is ProfileKind.SSO for p in found)
    prod = next(
        p
        for p in found
        if p.account_id == "222222222222" and p.sso_role_name == "AdministratorAccess"
    )
    assert get_profile(prod.name) == prod
    (result,) = [r async for r in InventoryService().stream([Scope(prod.name, "us-east-1")])]
    assert result.error is None, result.error
    assert result.instances and {i.account_id for i in result.instances} == {"222222222222"}
    accounts, errors = await group_accounts([*load_profiles(), *found])
    by_id = {a.account_id: a for a in accounts}
    assert errors == []
    assert prod.name in by_id["222222222222"].profiles
    assert by_id["222222222222"].label == "acme-prod"  # the IAM alias wins over the SSO name


def _write_token(expires: datetime) -> None:
    cache = Path(sso_cache_dir())
    for path in cache.glob("*.json"):
        token = json.loads(path.read_text())
        token["expiresAt"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        path.write_text(json.dumps(token))


async def test_expired_sso_login_says_what_to_run(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    _write_token(datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(CredentialsError) as info:
        load_sso_token(get_profile("sso-dev"))
    assert info.value.hint == "run: aws sso login --profile sso-dev"
    found, errors = await discover_sso(load_profiles())
    assert found == []
    assert [(e.profile, e.hint) for e in errors] == [
        ("sso-dev", "run: aws sso login --profile sso-dev")
    ]
    (result,) = [r async for r in InventoryService().stream([Scope("sso-dev", "us-east-1")])]
    assert result.error is not None
    assert "aws sso login --profile sso-dev" in result.error.hint
    # the user runs `aws sso login` in another terminal: the next refresh works, no restart
    _write_token(datetime.now(UTC) + timedelta(hours=8))
    (again,) = [r async for r in InventoryService().stream([Scope("sso-dev", "us-east-1")])]
    assert again.error is None, again.error
    assert again.instances
