"""`aws sso login` without the aws-cli: the IAM Identity Center OIDC device authorization flow.

Why our own loop: the public botocore (the one aiobotocore pins) has the `sso-oidc` client and the
token cache botocore reads (`JSONFileCache`, `SSOTokenLoader`), and `SSOTokenProvider` refreshes a
token that holds a refresh token, but the device flow itself (`SSOTokenFetcher`) exists only in
the aws-cli v2's private fork of botocore (`awscli/botocore/utils.py`), not importable here. The
steps below follow that fetcher so both tools share the cache files:

1. RegisterClient (a `public` client with the sso-session's `sso_registration_scopes`), kept in
   the cache under sha1 of `{"tool": "botocore", "startUrl", "region", "scopes",
   "session_name"}` (the aws-cli's key) until 15 minutes before its secret expires;
2. StartDeviceAuthorization for the start URL; one CreateToken at once (a client can be
   pre-authorized), then the URL and code go to `on_code`;
3. CreateToken every `interval` seconds: AuthorizationPendingException = keep polling,
   SlowDownException = 5 s more between polls (RFC 8628 §3.5), ExpiredTokenException = the code
   ran out (`LoginExpired`), AccessDeniedException = the user said no (`LoginDenied`);
4. the token (with the registration and any refresh token, as aws-cli v2 writes it) goes to
   `~/.aws/sso/cache/<sha1(session name or start URL)>.json`, where botocore's SSO credential and
   token providers (so aws-cli, boto3, Terraform...) read it.

Cancelling the coroutine stops the polling at its next await; the token file is written in one
atomic replace (`JSONFileCache` writes a temporary file and renames it) after the last call, so a
cancelled or failed login leaves the previous file untouched. Everything here runs on the AWS loop
(`Services.sso_login`); nothing blocks a UI.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from botocore import UNSIGNED
from botocore.utils import JSONFileCache, SSOTokenLoader

from ssm_tui.aws.exceptions import SsmTuiError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
"""RFC 8628: the polling interval when the service names none."""
SLOW_DOWN_STEP = 5
EXPIRY_WINDOW = timedelta(minutes=15)
"""A cached registration this close to its end is replaced (botocore's refresh window)."""
CLIENT_NAME = "ssm-tui"


class LoginTarget(NamedTuple):
    """Where a profile's SSO login goes: its sso-session (or legacy settings) and start URL."""

    profile: str
    session_name: str | None
    """None for a legacy profile (sso_start_url in the profile): the cache key is the URL."""
    start_url: str
    region: str
    scopes: tuple[str, ...]
    profiles: tuple[str, ...]
    """Every written profile this login serves (same sso-session, or same legacy start URL)."""


class DeviceCode(NamedTuple):
    """What the person must do: open `verification_uri` and enter `user_code` (or open the
    complete URI, which carries the code)."""

    target: LoginTarget
    verification_uri: str
    verification_uri_complete: str
    user_code: str
    expires_at: datetime


class LoginResult(NamedTuple):
    target: LoginTarget
    expires_at: datetime
    cache_file: str


class LoginError(SsmTuiError):
    code = "SSOLoginFailed"


class NotSsoProfile(LoginError):
    code = "NotSsoProfile"


class LoginExpired(LoginError):
    code = "SSOLoginExpired"


class LoginDenied(LoginError):
    code = "SSOLoginDenied"


def _config() -> dict:
    from ssm_tui.aws.profiles import load_full_config

    return load_full_config()


def login_target(profile: str, config: dict | None = None) -> LoginTarget:
    """The login behind `profile`, from the AWS config (`NotSsoProfile` when it has none)."""
    from ssm_tui.aws.profiles import discovered_config, get_profile

    config = config if config is not None else _config()
    profiles: dict[str, dict] = config.get("profiles", {})
    cfg = profiles.get(profile) or discovered_config(profile)
    if cfg is None:
        get_profile(profile)  # raises UnknownProfileError with the known names
        cfg = {}
    name = cfg.get("sso_session")
    if name:
        section = config.get("sso_sessions", {}).get(name)
        if section is None:
            raise LoginError(
                f"profile {profile!r} names sso-session {name!r}, which the config lacks",
                f"add an [sso-session {name}] section (aws configure sso-session)",
            )
        start_url, region = section.get("sso_start_url"), section.get("sso_region")
        raw_scopes = section.get("sso_registration_scopes", "")
        shared = [p for p, c in profiles.items() if c.get("sso_session") == name]
    else:
        start_url, region, raw_scopes = cfg.get("sso_start_url"), cfg.get("sso_region"), ""
        shared = [
            p
            for p, c in profiles.items()
            if not c.get("sso_session") and c.get("sso_start_url") == start_url
        ]
    if not start_url:
        raise NotSsoProfile(
            f"profile {profile!r} does not use IAM Identity Center (no sso_session or "
            "sso_start_url)",
            "log in with the tool that issues its credentials",
        )
    if not region:
        raise LoginError(
            f"the SSO settings of profile {profile!r} have no sso_region",
            "add sso_region to its sso-session (or profile) section",
        )
    scopes = tuple(s.strip() for s in str(raw_scopes).split(",") if s.strip())
    if profile not in shared:
        shared.insert(0, profile)
    return LoginTarget(profile, name, str(start_url), str(region), scopes, tuple(shared))


def cache_dir() -> str:
    """botocore's SSO token folder (fixed when botocore was imported, from HOME)."""
    from ssm_tui.aws.accounts import sso_cache_dir

    return sso_cache_dir()


def token_cache_key(target: LoginTarget) -> str:
    return hashlib.sha1((target.session_name or target.start_url).encode("utf-8")).hexdigest()


def registration_cache_key(target: LoginTarget) -> str:
    """The aws-cli v2's key, so a registration made by either tool serves the other."""
    args = {
        "tool": "botocore",
        "startUrl": target.start_url,
        "region": target.region,
        "scopes": list(target.scopes) or None,
        "session_name": target.session_name,
    }
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=lambda v: _utc(v) if isinstance(v, datetime) else v)


def _parse(text: object) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _open_cache(folder: str) -> JSONFileCache:
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return JSONFileCache(folder, dumps_func=_dumps)


async def sso_login(
    profile: str,
    on_code: Callable[[DeviceCode], object],
    *,
    folder: str | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LoginResult:
    """Log `profile`'s SSO session in with the device flow; the token lands in the cache.

    `on_code` is called once, with the URL and code to show, when the person has to act. Raises
    `LoginExpired`, `LoginDenied`, `NotSsoProfile`, `LoginError`, or botocore's errors for the
    calls (`aws.errors.explain` words them); `asyncio.CancelledError` leaves the cache as it was.
    """
    from aiobotocore.config import AioConfig

    from ssm_tui.aws.clients import client

    target = login_target(profile)
    folder = folder or cache_dir()
    cache = _open_cache(folder)
    config = AioConfig(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 3})
    async with client("sso-oidc", profile, target.region, config=config) as oidc:
        registration = await _registration(oidc, target, cache, now)
        try:
            reply = await _authorize(oidc, registration, target)
        except oidc.exceptions.InvalidClientException:
            # a cached registration the service no longer knows (revoked, another region):
            # register again once, as a first login would
            registration = await _registration(oidc, target, cache, now, force=True)
            reply = await _authorize(oidc, registration, target)
        code = DeviceCode(
            target,
            reply["verificationUri"],
            reply.get("verificationUriComplete") or reply["verificationUri"],
            reply.get("userCode", ""),
            now() + timedelta(seconds=int(reply.get("expiresIn", 600))),
        )
        interval = int(reply.get("interval") or DEFAULT_INTERVAL)
        told = False
        while True:
            token, interval = await _attempt(oidc, registration, reply["deviceCode"], interval)
            if token is not None:
                break
            if not told:
                told = True
                on_code(code)
            if now() >= code.expires_at + timedelta(seconds=interval):
                raise _expired()  # the service should have said so; do not poll forever
            await sleep(interval)
    expires_at = now() + timedelta(seconds=int(token["expiresIn"]))
    record: dict[str, Any] = {
        "startUrl": target.start_url,
        "region": target.region,
        "accessToken": token["accessToken"],
        "expiresAt": _utc(expires_at),
        "receivedAt": _utc(now()),
        "clientId": registration["clientId"],
        "clientSecret": registration["clientSecret"],
        "registrationExpiresAt": registration["expiresAt"],
    }
    if token.get("refreshToken"):
        record["refreshToken"] = token["refreshToken"]
    # One atomic write, after every call: a cancelled login never reaches it.
    SSOTokenLoader(cache=cache).save_token(
        target.start_url, record, session_name=target.session_name
    )
    return LoginResult(target, expires_at, os.path.join(folder, token_cache_key(target) + ".json"))


async def _authorize(oidc: Any, registration: dict[str, Any], target: LoginTarget) -> Any:
    return await oidc.start_device_authorization(
        clientId=registration["clientId"],
        clientSecret=registration["clientSecret"],
        startUrl=target.start_url,
    )


async def _registration(
    oidc: Any,
    target: LoginTarget,
    cache: JSONFileCache,
    now: Callable[[], datetime],
    force: bool = False,
) -> dict[str, Any]:
    key = registration_cache_key(target)
    try:
        cached = None if force else cache[key]
    except KeyError:
        cached = None
    if isinstance(cached, dict) and {"clientId", "clientSecret"} <= cached.keys():
        expires = _parse(cached.get("expiresAt"))
        if expires is not None and expires - now() > EXPIRY_WINDOW:
            return cached
    kwargs: dict[str, Any] = {
        "clientName": f"{CLIENT_NAME}-{target.session_name or 'legacy'}",
        "clientType": "public",
    }
    if target.scopes:
        kwargs["scopes"] = list(target.scopes)
    reply = await oidc.register_client(**kwargs)
    registration: dict[str, Any] = {
        "clientId": reply["clientId"],
        "clientSecret": reply["clientSecret"],
        "expiresAt": _utc(datetime.fromtimestamp(int(reply["clientSecretExpiresAt"]), UTC)),
        "receivedAt": _utc(now()),
    }
    if target.scopes:
        registration["scopes"] = list(target.scopes)
    cache[key] = registration  # atomic, and useful even if this login is then cancelled
    return registration


async def _attempt(
    oidc: Any, registration: dict[str, Any], device_code: str, interval: int
) -> tuple[dict[str, Any] | None, int]:
    """One CreateToken: (the token, interval) or (None, the interval to wait next)."""
    errors = oidc.exceptions
    try:
        reply = await oidc.create_token(
            grantType=DEVICE_GRANT,
            clientId=registration["clientId"],
            clientSecret=registration["clientSecret"],
            deviceCode=device_code,
        )
    except errors.AuthorizationPendingException:
        return None, interval
    except errors.SlowDownException:
        return None, interval + SLOW_DOWN_STEP
    except errors.ExpiredTokenException:
        raise _expired() from None
    except errors.AccessDeniedException:
        raise LoginDenied(
            "the SSO login was denied in the browser", "start it again and choose Allow"
        ) from None
    return reply, interval


def _expired() -> LoginExpired:
    return LoginExpired(
        "the SSO login code expired before it was approved",
        "start the login again and approve it in the browser within the time shown",
    )


def same_login(result: LoginResult, candidates: Iterable[str]) -> LoginResult:
    """`result` whose `target.profiles` also holds the `candidates` that log in through the same
    sso-session (or legacy start URL): SSO profiles discovered through it, for one."""
    target = result.target
    extra: list[str] = []
    for name in candidates:
        if name in target.profiles or name in extra:
            continue
        try:
            other = login_target(name)
        except SsmTuiError:
            continue
        if (other.session_name, other.start_url) == (target.session_name, target.start_url):
            extra.append(name)
    if not extra:
        return result
    return result._replace(target=target._replace(profiles=(*target.profiles, *extra)))


def forget_sessions(profiles: tuple[str, ...]) -> None:
    """Drop the cached botocore sessions of `profiles` in the current AWS context, so the next
    call resolves their credentials from the new token instead of a provider that failed."""
    from ssm_tui.aws import context

    memory = context.current()
    for by_key in memory.sessions.values():
        for key in [k for k in by_key if isinstance(k, tuple) and k[-1] in profiles]:
            del by_key[key]
