"""Accounts behind the profiles: who am I where, what is the account called, and which other
accounts an IAM Identity Center login can reach.

Account ids come from the config when it states them (role_arn, sso_account_id) and otherwise from
STS GetCallerIdentity, remembered in the current `AwsContext` (`aws/context.py`). Labels: the IAM
account alias when the role may read it, else the Organizations account name, else the profile
name.

SSO discovery: with the cached IAM Identity Center token (what `aws sso login` wrote), sso
ListAccounts/ListAccountRoles reveal every account and role the user can reach. Each one that no
written profile covers becomes a `Profile(discovered=True)` registered in memory
(`profiles.register_discovered`), which `clients.client()` injects into botocore's loaded config:
it works like a written profile and no file is edited.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from aiobotocore.config import AioConfig
from botocore import UNSIGNED
from botocore.utils import JSONFileCache, SSOTokenLoader

from ssm_tui.aws import clients, context
from ssm_tui.aws.clients import client, config_fingerprint
from ssm_tui.aws.errors import CredentialsError, explain
from ssm_tui.aws.models import Account, Profile, ProfileKind, ScopeError
from ssm_tui.aws.profiles import load_full_config, load_profiles, register_discovered

# What is learnt here (account ids, ARNs, labels, aliases) lives in the current `AwsContext`
# (`ssm_tui.aws.context`): the services object's, or the process's default.
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")

ALIAS_CONCURRENCY = 8
SSO_CONCURRENCY = 8
_NAME_RE = re.compile(r"[^\w+=,.@-]")


def _key(profile: str) -> tuple:
    return (config_fingerprint(), profile)


def cached_account(profile: str) -> str | None:
    """The account id of `profile` if already known (no call)."""
    return context.current().account_ids.get(_key(profile))


def cached_label(account_id: str) -> str | None:
    """The alias or account name of `account_id` if already known (no call).

    An IAM alias always wins over a name learnt on the way, whichever arrived first.
    """
    memory = context.current()
    return (
        memory.aliases.get(account_id)
        or memory.labels.get(account_id)
        or memory.names.get(account_id)
    )


def cached_alias(account_id: str) -> str | None:
    """The IAM account alias of `account_id` if already known (no call); never a name."""
    return context.current().aliases.get(account_id)


def remember_alias(account_id: str, alias: str) -> None:
    """An IAM alias known without asking (tests, screenshots): it wins over any name."""
    if account_id and alias:
        context.current().aliases[account_id] = alias


def remember_label(account_id: str, label: str) -> None:
    """An account name learnt on the way (SSO ListAccounts): used until an IAM alias is found."""
    if account_id and label:
        context.current().names[account_id] = label


async def iam_alias(profile: str, account: str) -> str | None:
    """The IAM account alias (ListAccountAliases through `profile`), asked once per account.

    A denial or an empty answer is remembered for that profile (another profile of the same
    account may still read it); a transient failure (throttling, network) is not remembered.
    """
    memory = context.current()
    if account in memory.aliases:
        return memory.aliases[account]
    if not account or (account, profile) in memory.no_alias:
        return None
    try:
        async with client("iam", profile, _region_of(profile)) as iam:
            aliases = (await iam.list_account_aliases()).get("AccountAliases", [])
    except Exception as exc:  # noqa: BLE001 - aliases are optional; denied is common
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in _DENIED:
            memory.no_alias.add((account, profile))
        return None
    if not aliases:
        memory.no_alias.add((account, profile))
        return None
    memory.aliases[account] = aliases[0]
    return aliases[0]


async def caller_identity(profile: str, region: str | None = None) -> dict[str, str]:
    """STS GetCallerIdentity for `profile` (Account, Arn, UserId); caches the account id."""
    reply = await clients.caller_identity(profile, region or _region_of(profile))
    memory, key = context.current(), _key(profile)
    memory.account_ids[key] = reply["Account"]
    memory.arns[key] = reply["Arn"]
    return reply


async def account_id(profile: str) -> str:
    """The account `profile` lands in (cached after the first GetCallerIdentity)."""
    if _key(profile) not in context.current().account_ids:
        await caller_identity(profile)
    return context.current().account_ids[_key(profile)]


def _region_of(profile: str) -> str:
    for p in load_profiles(include_discovered=True):
        if p.name == profile and p.region:
            return p.region
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


async def account_alias(profile: str, account: str) -> str | None:
    """IAM account alias, else the Organizations account name, else None (both may be denied)."""
    memory = context.current()
    if account in memory.aliases:
        return memory.aliases[account]
    if account in memory.labels:
        return memory.labels[account]
    region = _region_of(profile)
    alias = await iam_alias(profile, account)
    if alias:
        return alias
    if account in memory.names:  # what IAM Identity Center showed: no need to ask Organizations
        memory.labels[account] = memory.names[account]
        return memory.names[account]
    try:
        async with client("organizations", profile, region) as org:
            name = (await org.describe_account(AccountId=account))["Account"].get("Name")
        if name:
            memory.labels[account] = name
            return name
    except Exception:  # noqa: BLE001 - not in an org, or not allowed to read it
        pass
    return None


async def group_accounts(
    profiles: Iterable[Profile], *, aliases: bool = True
) -> tuple[list[Account], list[ScopeError]]:
    """Profiles grouped by the account they reach, with labels; plus one error per failed profile.

    Profiles whose config names the account (role_arn, sso_account_id) need no call; the others
    are resolved with GetCallerIdentity concurrently. One failing profile never hides the others.
    """
    profiles = list(profiles)
    slots = asyncio.Semaphore(ALIAS_CONCURRENCY)
    errors: list[ScopeError] = []

    async def resolve(p: Profile) -> tuple[Profile, str | None]:
        if p.account_id:
            context.current().account_ids.setdefault(_key(p.name), p.account_id)
            return p, p.account_id
        async with slots:
            try:
                return p, await account_id(p.name)
            except Exception as exc:  # noqa: BLE001 - becomes an error row
                errors.append(explain(exc, p.name, p.region))
                return p, None

    resolved = await asyncio.gather(*(resolve(p) for p in profiles))
    by_account: dict[str, list[str]] = {}
    for p, acct in resolved:
        if acct:
            by_account.setdefault(acct, []).append(p.name)

    async def label(acct: str, names: list[str]) -> Account:
        memory = context.current()
        alias = memory.aliases.get(acct) or memory.labels.get(acct)
        if alias is None and aliases:
            async with slots:
                alias = await account_alias(names[0], acct)
        return Account(acct, alias, tuple(sorted(names)))

    accounts = await asyncio.gather(*(label(a, n) for a, n in by_account.items()))
    return sorted(accounts, key=lambda a: a.label), errors


# ---------------------------------------------------------------- IAM Identity Center discovery


def _sso_settings(profile: Profile, config: dict) -> tuple[str, str | None, str]:
    """(start_url, session_name or None, sso_region) of an SSO profile, from botocore's config."""
    cfg = config.get("profiles", {}).get(profile.name, {})
    session_name = cfg.get("sso_session")
    if session_name:
        section = config.get("sso_sessions", {}).get(session_name, {})
        return section.get("sso_start_url", ""), session_name, section.get("sso_region", "")
    return cfg.get("sso_start_url", ""), None, cfg.get("sso_region", "")


def sso_cache_dir() -> str:
    """The folder botocore's own SSO providers read tokens from (so both always agree)."""
    import botocore.tokens

    default = os.path.expanduser(os.path.join("~", ".aws", "sso", "cache"))
    return getattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", default)


def load_sso_token(profile: Profile, config: dict | None = None) -> str:
    """The cached access token of an SSO profile, or `CredentialsError` saying to log in."""
    config = config if config is not None else load_full_config()
    start_url, session_name, _ = _sso_settings(profile, config)
    hint = f"run: aws sso login --profile {profile.name}"
    loader = SSOTokenLoader(cache=JSONFileCache(sso_cache_dir()))
    try:
        token = loader(start_url, session_name=session_name)
    except Exception as exc:  # noqa: BLE001 - SSOTokenLoadError or an unreadable cache file
        raise CredentialsError(
            profile.name,
            f"no SSO login for profile {profile.name!r}: {exc}",
            hint,
            "SSOTokenMissing",
        ) from None
    expires = _parse_time(str(token.get("expiresAt", "")))
    if expires is None or expires <= datetime.now(UTC):
        raise CredentialsError(
            profile.name,
            f"the SSO login of profile {profile.name!r} expired at {token.get('expiresAt')}",
            hint,
            "SSOTokenExpired",
        )
    return str(token["accessToken"])


def _parse_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def discovered_name(account_name: str, account: str, role: str) -> str:
    """`acme-prod/AdministratorAccess`: readable, stable across runs, unique per account+role."""
    base = _NAME_RE.sub("-", account_name.strip()) or account
    return f"{base}/{role}"


async def discover_sso(
    profiles: Iterable[Profile] | None = None,
) -> tuple[list[Profile], list[ScopeError]]:
    """Accounts and roles each SSO login reaches that no written profile covers.

    Returns the new profiles (already registered for `clients.client()`) and one error per SSO
    login that failed (expired token → `aws sso login --profile X`).
    """
    profiles = list(profiles) if profiles is not None else load_profiles()
    config = load_full_config()
    written = {
        (p.account_id, p.sso_role_name, _sso_settings(p, config)[:2])
        for p in profiles
        if p.kind is ProfileKind.SSO
    }
    taken = {p.name for p in profiles}
    logins: dict[tuple[str, str | None], Profile] = {}
    for p in profiles:
        if p.kind is ProfileKind.SSO and not p.discovered:
            logins.setdefault(_sso_settings(p, config)[:2], p)
    found: list[Profile] = []
    errors: list[ScopeError] = []
    for login, base in logins.items():
        try:
            roles = await _list_roles(base, config)
        except Exception as exc:  # noqa: BLE001 - one failed login never hides the others
            errors.append(explain(exc, base.name, base.region))
            continue
        base_cfg = config["profiles"].get(base.name, {})
        for acct, acct_name, role in roles:
            remember_label(acct, acct_name)
            if (acct, role, login) in written:
                continue
            name = discovered_name(acct_name, acct, role)
            if name in taken:
                continue
            taken.add(name)
            profile = Profile(
                name=name,
                kind=ProfileKind.SSO,
                region=base.region,
                account_id=acct,
                sso_session=base.sso_session,
                sso_role_name=role,
                discovered=True,
            )
            keep = ("sso_session", "sso_start_url", "sso_region", "region", "endpoint_url")
            botocore_cfg = {k: v for k, v in base_cfg.items() if k in keep or k == "services"}
            botocore_cfg.update(sso_account_id=acct, sso_role_name=role)
            register_discovered(profile, botocore_cfg)
            found.append(profile)
    return sorted(found, key=lambda p: p.name), errors


async def _list_roles(base: Profile, config: dict) -> list[tuple[str, str, str]]:
    """(account id, account name, role name) for everything the login of `base` reaches."""
    token = load_sso_token(base, config)
    _, _, sso_region = _sso_settings(base, config)
    unsigned = AioConfig(signature_version=UNSIGNED)
    out: list[tuple[str, str, str]] = []
    async with client("sso", base.name, sso_region or base.region, config=unsigned) as sso:
        accounts: list[dict] = []
        async for page in sso.get_paginator("list_accounts").paginate(accessToken=token):
            accounts += page.get("accountList", [])
        slots = asyncio.Semaphore(SSO_CONCURRENCY)

        async def roles_of(acct: dict) -> list[tuple[str, str, str]]:
            async with slots:
                pages = sso.get_paginator("list_account_roles").paginate(
                    accessToken=token, accountId=acct["accountId"]
                )
                return [
                    (acct["accountId"], acct.get("accountName", ""), r["roleName"])
                    async for page in pages
                    for r in page.get("roleList", [])
                ]

        for chunk in await asyncio.gather(*(roles_of(a) for a in accounts)):
            out += chunk
    return out


def forget() -> None:
    """Drop cached identities and labels (tests; after a login change)."""
    context.current().forget_accounts()
