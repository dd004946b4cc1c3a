"""The Account column: the IAM alias, else the profile name, whatever was learnt first.

Real parts: the sandbox (ListAccountAliases, SSO ListAccounts), the inventory service, and
`Services.stream`, which is what the fleet refresh calls.
"""

from __future__ import annotations

from ssm_tui.aws import accounts
from ssm_tui.aws.context import using
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
    services = Services(store=False)  # its own AWS context: nothing learnt elsewhere
    with using(services.context):
        accounts.remember_label("222222222222", "prod")  # what SSO ListAccounts calls it
    try:
        first = await listed(services)
        assert first == {("222222222222", SANDBOX_ALIASES["222222222222"])}
        profiles = [p for p in services.load_profiles() if p.name in ("prod", "sso-dev")]
        await services.accounts(profiles)  # SSO discovery renames the accounts meanwhile
        assert await listed(services) == first  # the next refresh labels them the same
    finally:
        await services.aclose()


async def test_without_a_known_alias_the_label_is_the_profile_name(sandbox_env) -> None:
    services = Services(store=False, account_lookup=False)
    with using(services.context):
        accounts.remember_label("222222222222", "prod-account")  # a name, not an alias
    try:
        assert await listed(services) == {("222222222222", "prod")}  # the profile's name
        with using(services.context):
            accounts.remember_alias("222222222222", "acme-prod")
        assert await listed(services) == {("222222222222", "acme-prod")}
    finally:
        await services.aclose()


async def test_what_one_services_object_learns_stays_in_its_context(sandbox_env) -> None:
    """Sessions, identities and aliases belong to the services object, not the process."""
    from ssm_tui.aws.context import default

    process = default()  # what code without a services object uses
    before = (dict(process.aliases), set(process.identities))
    one, two = Services(store=False), Services(store=False, account_lookup=False)
    try:
        assert await listed(one) == {("222222222222", SANDBOX_ALIASES["222222222222"])}
        assert one.context.aliases.get("222222222222") == SANDBOX_ALIASES["222222222222"]
        assert one.context.identities and one.context.sessions
        assert (dict(process.aliases), set(process.identities)) == before
        assert await listed(two) == {("222222222222", "prod")}  # learnt nothing from `one`
        assert not two.context.aliases
        one.forget()
        assert not one.context.aliases and not one.context.identities
    finally:
        await one.aclose()
        await two.aclose()
