"""The user's AWS profiles, read with botocore's own loaders so ssm-tui agrees with the AWS CLI.

botocore's `Session.full_config` reads AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
(`[profile x]` sections, `sso-session` and `services` sections, credential-file profiles merged
in); this module classifies what it found. Only when botocore rejects a file (a duplicate
section, one line that is not `key = value`: botocore refuses the *whole* file, so every profile
would fail) or cannot read it (a directory, mode 000: botocore silently reads nothing) does
`read_config` read the files itself, with configparser's non-strict mode: duplicate sections are
merged (the later value wins), a section holding a bad line is left out (its profile fails with
the file and line: a dropped `role_arn` line must not turn a role profile into its source keys),
and every other profile works. The problems are `ConfigError`s (file, line) that the CLI prints
and the app keeps on screen until the file is fixed (`config_problems`).

Profiles discovered through IAM Identity Center are kept in an in-memory registry
(`register_discovered`): `clients.client()` injects their settings into a botocore session's loaded
config, so they work like written profiles without anyone editing `~/.aws/config`.
"""

from __future__ import annotations

import configparser
import copy
import os
import threading
from typing import NamedTuple

import botocore.session
from botocore import exceptions as bce

from ssm_tui.aws.exceptions import ConfigError, UnknownProfileError
from ssm_tui.aws.models import Profile, ProfileKind

ENV_PROFILE = "env"
"""Name of the one profile offered when there is no config but AWS_* credentials are set."""

_DISCOVERED: dict[str, tuple[Profile, dict[str, str]]] = {}
_LOCK = threading.Lock()


class ConfigRead(NamedTuple):
    """The AWS config as ssm-tui reads it: botocore's result, or the lenient one (see above)."""

    full: dict
    """What `botocore.session.Session.full_config` holds (profiles, sso_sessions, services)."""
    problems: tuple[ConfigError, ...] = ()
    """Everything botocore would have refused or silently skipped, with file and line."""
    broken: dict[str, ConfigError] = {}  # noqa: RUF012 - never mutated (a NamedTuple default)
    """Profiles left out because their section holds a bad line: the error each one reports."""
    lost: tuple[ConfigError, ...] = ()
    """Problems that cost a whole file (unreadable, not UTF-8): any profile missing says them."""


_PREAMBLE = "ssm-tui: before the first section"


def _file_paths(session: botocore.session.Session) -> list[tuple[str, str]]:
    """(kind, path) of the config and credentials files botocore would read."""
    found = []
    for kind, variable in (("config", "config_file"), ("credentials", "credentials_file")):
        value = session.get_config_variable(variable)
        if value:
            found.append((kind, os.path.expanduser(os.path.expandvars(value))))
    return found


def _unreadable(path: str) -> ConfigError | None:
    """Why botocore would read nothing from an existing `path` (it says nothing itself)."""
    if not os.path.lexists(path):
        return None
    if os.path.isdir(path):
        return ConfigError(path, None, "is a directory, not a config file: nothing read from it")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return ConfigError(path, None, f"cannot be read ({reason}): nothing read from it")
    return None


def _section_of(name: str, kind: str) -> str | None:
    """The profile a config-file section defines (`profile x`, `default`), else None."""
    if kind == "credentials":
        return name
    if name == "default":
        return "default"
    parts = name.split(None, 1)
    return parts[1].strip() if len(parts) == 2 and parts[0] == "profile" else None


def _lenient_sections(path: str, kind: str) -> tuple[dict, list[ConfigError], dict, bool]:
    """(sections as botocore's `raw_config_parse` gives them, problems, broken profiles, whether
    the whole file was lost)."""
    from botocore.configloader import _parse_nested  # botocore's own nested-value rule

    if (why := _unreadable(path)) is not None:
        return {}, [why], {}, True
    if not os.path.isfile(path):
        return {}, [], {}, False
    data = open(path, "rb").read()  # noqa: SIM115 - read in one go, closed at once
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = data[: exc.start].count(b"\n") + 1
        return {}, [ConfigError(path, at, "the file is not valid UTF-8 text")], {}, True
    parser = configparser.RawConfigParser(strict=False)
    bad_lines: list[tuple[int, str]] = []
    try:
        parser.read_string(f"[{_PREAMBLE}]\n{text}", source=path)
    except configparser.ParsingError as exc:
        bad_lines = [(number - 1, line) for number, line in exc.errors]
    headers: list[tuple[int, str]] = []  # (line, section) of every header, in order
    for number, line in enumerate(text.splitlines(), start=1):
        match = parser.SECTCRE.match(line.strip()) if line[:1] not in " \t" else None
        if match:
            headers.append((number, match.group("header")))
    problems: list[ConfigError] = []
    broken: dict[str, ConfigError] = {}
    first_line: dict[str, int] = {}
    for number, section in headers:
        if section in first_line:
            problems.append(
                ConfigError(
                    path,
                    number,
                    f"section [{section}] appears twice (first at line {first_line[section]}): "
                    "merged, the later value of a key wins",
                )
            )
        first_line.setdefault(section, number)

    def section_at(number: int) -> str | None:
        owner = None
        for header_line, section in headers:
            if header_line > number:
                break
            owner = section
        return owner

    for number, line in bad_lines:
        owner = section_at(number)
        profile = _section_of(owner, kind) if owner else None
        cost = f": profile {profile!r} left out until it is fixed" if profile else ""
        error = ConfigError(
            path, number, f"cannot parse {line.strip()!r} (expected 'key = value'){cost}"
        )
        problems.append(error)
        if profile is not None:
            broken.setdefault(profile, error)
    sections: dict[str, dict] = {}
    preamble = [k for k in parser.options(_PREAMBLE)] if parser.has_section(_PREAMBLE) else []
    if preamble:
        problems.append(ConfigError(path, 1, "text before the first [section] header: ignored"))
    for section in parser.sections():
        if section == _PREAMBLE:
            continue
        profile = _section_of(section, kind)
        if profile is not None and profile in broken:
            continue
        values: dict = {}
        for option in parser.options(section):
            value = parser.get(section, option)
            if isinstance(value, str) and value.startswith("\n"):
                try:
                    value = _parse_nested(value)
                except ValueError:
                    error = ConfigError(
                        path, first_line.get(section), f"[{section}] {option}: bad nested value"
                    )
                    problems.append(error)
                    if profile is not None:
                        broken.setdefault(profile, error)
                    break
            values[option] = value
        else:
            sections[section] = values
    return sections, problems, broken, False


_READ: dict[tuple, ConfigRead] = {}


def _stamp(paths: list[tuple[str, str]]) -> tuple:
    """What makes a read stale: the files' identity, size, time and mode (chmod 000 counts)."""
    stamp: list[tuple[object, ...]] = []
    for _, path in paths:
        try:
            st = os.stat(path)
            stamp.append((path, st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino))
        except OSError:
            stamp.append((path, None))
    return tuple(stamp)


def read_config() -> ConfigRead:
    """The AWS config files, as botocore reads them when it can (see the module docstring).

    Kept per state of the files (two `stat` calls when nothing changed): the inventory, the
    clients and the credential providers all ask."""
    # only its config lookups are used: without the ~130 built-in event handlers (~8 ms each time)
    session = botocore.session.Session(include_builtin_handlers=False)
    paths = _file_paths(session)
    key = _stamp(paths)
    with _LOCK:
        if key in _READ:
            return _READ[key]
    read = _read_config(session, paths)
    with _LOCK:
        _READ.clear()
        _READ[key] = read
    return read


def _read_config(session: botocore.session.Session, paths: list[tuple[str, str]]) -> ConfigRead:
    if not any(_unreadable(path) for _, path in paths):
        try:
            return ConfigRead(session.full_config)
        except bce.ConfigParseError:
            pass  # read below, file by file, so only the broken profile pays
    from botocore.configloader import build_profile_map

    full: dict = {"profiles": {}}
    problems: list[ConfigError] = []
    broken: dict[str, ConfigError] = {}
    lost_files: list[ConfigError] = []
    for kind, path in paths:
        sections, found, lost, whole = _lenient_sections(path, kind)
        problems += found
        broken.update(lost)
        lost_files += found if whole else []
        if kind == "config":
            full = build_profile_map(sections)
            full.setdefault("profiles", {})
        else:  # as botocore's full_config: credential-file profiles merged in
            for name, values in sections.items():
                full["profiles"].setdefault(name, {}).update(values)
    for name in broken:
        full["profiles"].pop(name, None)
    return ConfigRead(full, tuple(problems), broken, tuple(lost_files))


def lenient_raw_parse(path: str) -> dict:
    """botocore's `raw_config_parse`, lenient (for its file-reading credential providers)."""
    from botocore.configloader import raw_config_parse

    try:
        return raw_config_parse(path)
    except bce.ConfigParseError:
        return _lenient_sections(os.path.expanduser(os.path.expandvars(path)), "credentials")[0]


def lenient_load_config(path: str) -> dict:
    """botocore's `load_config`, lenient (for its config-file credential provider)."""
    from botocore.configloader import build_profile_map, load_config

    try:
        return load_config(path)
    except bce.ConfigParseError:
        full = os.path.expanduser(os.path.expandvars(path))
        return build_profile_map(_lenient_sections(full, "config")[0])


def load_full_config() -> dict:
    """The parsed config (profiles, sso_sessions, services); a broken file costs only the
    profiles it breaks (`read_config`), it raises nothing."""
    return copy.deepcopy(read_config().full)


def config_problems() -> list[ConfigError]:
    """What is wrong with the AWS config files now (file and line each); empty when nothing."""
    return list(read_config().problems)


def broken_profile(name: str) -> ConfigError | None:
    """The error a profile reports because its section holds a bad line, else None."""
    return read_config().broken.get(name)


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
    A malformed file raises nothing: see `read_config` and `config_problems`.
    """
    read = read_config()
    config = read.full
    profiles = [profile_from_config(n, c or {}) for n, c in config.get("profiles", {}).items()]
    # a profile left out for a bad line stays listed: its scope then says which line
    profiles += [
        Profile(n, ProfileKind.ENVIRONMENT) for n in read.broken if n not in config["profiles"]
    ]
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
    if lost := read_config().lost:  # a config file that cannot be read says so, first
        raise lost[0]
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
