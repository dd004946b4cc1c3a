"""ssm-tui's own settings: a small TOML file beside, never inside, the AWS config.

Location: `platformdirs.user_config_path("ssm-tui") / "config.toml"` (honours XDG_CONFIG_HOME), or
the file named by SSM_TUI_CONFIG. Every key is optional::

    regions = ["eu-west-1"]            # extra regions listed for every profile
    refresh_interval = 30              # seconds between background ping refreshes (default 30)
    audit_role_session_name = true     # name assume-role sessions after the caller (see clients)
    login_command = "exec bash -l"     # typed into every new shell session
    plugin = "auto"                    # auto | official | builtin
    max_concurrency_per_account = 8

    [profiles.prod]
    regions = ["us-east-1", "eu-west-1"]   # replaces the profile's own region list
    audit_role_session_name = false
    login_command = "sudo -iu ec2-user"
    hidden = false

    [instances."i-0abc123"]
    login_command = "exec zsh -l"

Why a separate file: the AWS config belongs to the AWS CLI and other tools; ssm-tui never writes it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ssm_tui.aws.errors import ConfigError

APP_NAME = "ssm-tui"


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    """Per-profile overrides; None means "use the global value"."""

    regions: tuple[str, ...] | None = None
    audit_role_session_name: bool | None = None
    login_command: str | None = None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    login_command: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    regions: tuple[str, ...] = ()
    refresh_interval: float = 30.0
    audit_role_session_name: bool = True
    login_command: str | None = None
    plugin: str = "auto"
    max_concurrency_per_account: int = 8
    """Scopes of one account and region listed at once (inventory.MAX_SCOPES_PER_ACCOUNT_REGION)."""
    utc_times: bool = False
    """Show and read times in UTC instead of local time (`ssm_tui.timefmt`)."""
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)
    instances: dict[str, InstanceSettings] = field(default_factory=dict)
    path: Path | None = None
    """The file these came from (None: defaults, no file)."""

    def regions_for(self, profile: str, default_region: str | None) -> list[str]:
        """Regions for `profile`: its override, else its own region plus the global extras."""
        override = self.profiles.get(profile, ProfileSettings()).regions
        if override is not None:
            return list(dict.fromkeys(override))
        base = [default_region] if default_region else []
        return list(dict.fromkeys([*base, *self.regions]))

    def audit_for(self, profile: str | None) -> bool:
        """Whether ssm-tui may set role_session_name for this assume-role profile."""
        value = self.profiles.get(profile or "", ProfileSettings()).audit_role_session_name
        return self.audit_role_session_name if value is None else value

    def login_command_for(self, profile: str | None, instance_id: str | None = None) -> str | None:
        """Command typed into a new shell: the instance's, else the profile's, else the global."""
        if instance_id and instance_id in self.instances:
            cmd = self.instances[instance_id].login_command
            if cmd is not None:
                return cmd or None
        cmd = self.profiles.get(profile or "", ProfileSettings()).login_command
        if cmd is not None:
            return cmd or None
        return self.login_command

    def is_hidden(self, profile: str) -> bool:
        return self.profiles.get(profile, ProfileSettings()).hidden


def settings_path() -> Path:
    """Where the settings file lives (SSM_TUI_CONFIG wins over the platform config dir)."""
    env = os.environ.get("SSM_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def _err(path: Path, message: str) -> ConfigError:
    return ConfigError(str(path), None, message)


def _str_list(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(path, f"{where} must be a list of strings")
    return tuple(value)


def _typed(path: Path, where: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise _err(path, f"{where} must be a {names}, got {value!r}")
    return value


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file; a missing file is the defaults, a malformed one a `ConfigError`."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(path, str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError(str(path), line, str(exc).split(" (at line")[0]) from None
    profiles: dict[str, ProfileSettings] = {}
    for name, raw in (data.get("profiles") or {}).items():
        if not isinstance(raw, dict):
            raise _err(path, f"[profiles.{name}] must be a table")
        profiles[name] = ProfileSettings(
            regions=_str_list(path, f"profiles.{name}.regions", raw["regions"])
            if "regions" in raw
            else None,
            audit_role_session_name=_typed(
                path,
                f"profiles.{name}.audit_role_session_name",
                raw.get("audit_role_session_name"),
                bool,
            ),  # fmt: skip
            login_command=_typed(
                path, f"profiles.{name}.login_command", raw.get("login_command"), str
            ),
            hidden=bool(_typed(path, f"profiles.{name}.hidden", raw.get("hidden"), bool)),
        )
    instances: dict[str, InstanceSettings] = {}
    for iid, raw in (data.get("instances") or {}).items():
        if not isinstance(raw, dict):
            raise _err(path, f"[instances.{iid}] must be a table")
        instances[iid] = InstanceSettings(
            login_command=_typed(
                path, f"instances.{iid}.login_command", raw.get("login_command"), str
            )
        )
    plugin = _typed(path, "plugin", data.get("plugin", "auto"), str)
    if plugin not in ("auto", "official", "builtin"):
        raise _err(path, f"plugin must be auto, official or builtin, got {plugin!r}")
    return Settings(
        regions=_str_list(path, "regions", data.get("regions", [])),
        refresh_interval=float(
            _typed(path, "refresh_interval", data.get("refresh_interval", 30), (int, float))
        ),
        audit_role_session_name=_typed(
            path, "audit_role_session_name", data.get("audit_role_session_name", True), bool
        ),
        login_command=_typed(path, "login_command", data.get("login_command"), str),
        plugin=plugin,
        max_concurrency_per_account=int(
            _typed(
                path, "max_concurrency_per_account", data.get("max_concurrency_per_account", 8), int
            )
        ),
        utc_times=bool(_typed(path, "utc_times", data.get("utc_times", False), bool)),
        profiles=profiles,
        instances=instances,
        path=path,
    )
