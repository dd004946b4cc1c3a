"""The Account column: the IAM alias, else the profile name, whatever was learnt first.

Real parts: the sandbox (ListAccountAliases, SSO ListAccounts), the inventory service, and
`Services.stream`, which is what the fleet refresh calls.
"""

from __future__ import annotations

from ssm_tui.aws import accounts
from ssm_tui.aws.models import Scope, ScopeResult
from ssm_tui.ui.services import Services

from .conftest import SANDBOX_ALIASES

SCOPES = [Scope("prod", "us-east-1"), Scope("prod", "eu-west-1")]


async def listed(services: Services) -> set[tuple[str, str]]:
    results: list[ScopeResult] = []
    await services.stream(SCOPES, results.append)
    assert results and not [r.error for r in results if r.error]
    return {(i.account_id, i.account_label) for r in results for i in r.instances}


async def test_the_alias_wins_over_an_sso_account_name_learnt_first(sandbox_env) -> None:
    accounts.forget()
    accounts.remember_label("222222222222", "prod")  # what SSO ListAccounts calls it
    services = Services(store=False)
    try:
        first = await listed(services)
        assert first == {("222222222222", SANDBOX_ALIASES["222222222222"])}
        profiles = [p for p in services.load_profiles() if p.name in ("prod", "sso-dev")]
        await services.accounts(profiles)  # SSO discovery renames the accounts meanwhile
        assert await listed(services) == first  # the next refresh labels them the same
    finally:
        await services.aclose()
        accounts.forget()


async def test_without_a_known_alias_the_label_is_the_profile_name(sandbox_env) -> None:
    accounts.forget()
    accounts.remember_label("222222222222", "prod-account")  # a name, not an alias
    services = Services(store=False, account_lookup=False)
    try:
        assert await listed(services) == {("222222222222", "prod")}  # the profile's name
        accounts.remember_alias("222222222222", "acme-prod")
        assert await listed(services) == {("222222222222", "acme-prod")}
    finally:
        await services.aclose()
        accounts.forget()
