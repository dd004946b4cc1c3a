"""The user's AWS profiles, read with botocore's own loaders so ssm-tui agrees with the AWS CLI.

Nothing here parses INI by hand: botocore's `Session.full_config` reads AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE (`[profile x]` sections, `sso-session` and `services` sections,
credential-file profiles merged in). This module only classifies what botocore found.

Profiles discovered through IAM Identity Center are kept in an in-memory registry
(`register_discovered`): `clients.client()` injects their settings into a botocore session's loaded
config, so they work like written profiles without anyone editing `~/.aws/config`.
"""

from __future__ import annotations

import configparser
import os
import threading

import botocore.session
from botocore import exceptions as bce

from ssm_tui.aws.exceptions import ConfigError, UnknownProfileError
from ssm_tui.aws.models import Profile, ProfileKind

ENV_PROFILE = "env"
"""Name of the one profile offered when there is no config but AWS_* credentials are set."""

_DISCOVERED: dict[str, tuple[Profile, dict[str, str]]] = {}
_LOCK = threading.Lock()


def load_full_config() -> dict:
    """botocore's parsed config (profiles, sso_sessions, services), errors as `ConfigError`."""
    session = botocore.session.Session()
    try:
        return session.full_config
    except bce.ConfigParseError as exc:
        raise _config_error(exc) from None


def _config_error(exc: bce.ConfigParseError) -> ConfigError:
    """Name the file and the line: configparser knows the line, botocore keeps it in `error`."""
    path = str(exc.kwargs.get("path", "AWS config"))
    inner = exc.kwargs.get("error")
    line: int | None = getattr(inner, "lineno", None)
    if line is None and isinstance(inner, configparser.ParsingError) and inner.errors:
        line = inner.errors[0][0]
    if isinstance(inner, configparser.MissingSectionHeaderError):
        detail = f"text before the first [section] header: {inner.line.strip()!r}"
    elif isinstance(inner, configparser.ParsingError) and inner.errors:
        detail = f"cannot parse {inner.errors[0][1]} (expected 'key = value' or '[section]')"
    elif isinstance(inner, configparser.DuplicateSectionError):
        detail = f"section [{inner.section}] appears twice"
    elif isinstance(inner, configparser.DuplicateOptionError):
        detail = f"key {inner.option!r} appears twice in [{inner.section}]"
    elif isinstance(inner, UnicodeDecodeError):
        detail = "the file is not valid UTF-8 text"
    else:
        detail = str(inner or exc)
    return ConfigError(path, line, detail)


def _account_from_arn(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def profile_from_config(name: str, cfg: dict, *, discovered: bool = False) -> Profile:
    """Classify one botocore profile dict (in the order botocore's resolver tries them)."""
    role_arn = cfg.get("role_arn")
    if role_arn or cfg.get("web_identity_token_file"):
        kind = ProfileKind.ASSUME_ROLE
    elif cfg.get("sso_session") or cfg.get("sso_start_url"):
        kind = ProfileKind.SSO
    elif cfg.get("aws_access_key_id"):
        kind = ProfileKind.KEYS
    elif cfg.get("credential_process"):
        kind = ProfileKind.PROCESS
    else:
        kind = ProfileKind.ENVIRONMENT
    region = (
        cfg.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    account = cfg.get("sso_account_id") or _account_from_arn(role_arn) or cfg.get("aws_account_id")
    return Profile(
        name=name,
        kind=kind,
        region=region or None,
        account_id=account or None,
        role_arn=role_arn,
        source_profile=cfg.get("source_profile"),
        role_session_name=cfg.get("role_session_name"),
        sso_session=cfg.get("sso_session"),
        sso_role_name=cfg.get("sso_role_name"),
        discovered=discovered,
    )


def _env_has_credentials() -> bool:
    return bool(os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"))


def load_profiles(*, include_discovered: bool = False) -> list[Profile]:
    """Every profile of the AWS config and credentials files, sorted by name.

    With no profile at all but AWS_* keys in the environment, one `ENVIRONMENT` profile named
    `env`. Discovered SSO profiles are added only on request (they are the caller's to offer).
    Raises `ConfigError` (file and line) when a file is malformed.
    """
    config = load_full_config()
    profiles = [profile_from_config(n, c or {}) for n, c in config.get("profiles", {}).items()]
    if not profiles and _env_has_credentials():
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        profiles.append(Profile(name=ENV_PROFILE, kind=ProfileKind.ENVIRONMENT, region=region))
    if include_discovered:
        written = {p.name for p in profiles}
        with _LOCK:
            profiles += [p for n, (p, _) in _DISCOVERED.items() if n not in written]
    return sorted(profiles, key=lambda p: p.name)


def source_loop(profile: str, profiles: dict) -> list[str] | None:
    """The profiles of a `source_profile` cycle reachable from `profile` (a -> b -> a), else None.

    botocore refuses such a chain when it resolves credentials (InfiniteLoopConfigError); anyone
    who walks the chain before it (the audit name asks the source profile who it is) must stop
    too, or it waits on its own lock for ever.
    """
    seen: list[str] = []
    current: str | None = profile
    while current and current in profiles:
        if current in seen:
            return seen[seen.index(current) :]
        seen.append(current)
        link = profiles[current] or {}
        if not link.get("role_arn"):  # only role profiles follow their source_profile
            return None
        source = link.get("source_profile")
        if source == current:  # botocore allows a role profile that is its own source
            return None
        current = source
    return None


def known_profile_names() -> list[str]:
    """Names for error messages; never raises (a broken file simply lists nothing)."""
    try:
        return [p.name for p in load_profiles(include_discovered=True)]
    except ConfigError:
        return []


def get_profile(name: str) -> Profile:
    """One profile by name (written or discovered), or `UnknownProfileError` listing the others."""
    with _LOCK:
        if name in _DISCOVERED:
            return _DISCOVERED[name][0]
    profiles = load_profiles(include_discovered=True)
    for profile in profiles:
        if profile.name == name:
            return profile
    raise UnknownProfileError(name, [p.name for p in profiles])


def register_discovered(profile: Profile, config: dict[str, str]) -> None:
    """Make a discovered profile usable by `clients.client()` (in memory, no file is written).

    `config` is the botocore profile dict, e.g. sso_session/sso_account_id/sso_role_name/region.
    """
    with _LOCK:
        _DISCOVERED[profile.name] = (profile, dict(config))


def discovered_config(name: str) -> dict[str, str] | None:
    """The injected botocore settings of a discovered profile, or None for a written one."""
    with _LOCK:
        entry = _DISCOVERED.get(name)
    return dict(entry[1]) if entry else None


def clear_discovered() -> None:
    """Forget every discovered profile (tests; or after the user logs out)."""
    with _LOCK:
        _DISCOVERED.clear()
