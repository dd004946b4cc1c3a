"""ssm-tui's own settings: a small TOML file beside, never inside, the AWS config.

Location: `platformdirs.user_config_path("ssm-tui") / "config.toml"` (honours XDG_CONFIG_HOME), or
the file named by SSM_TUI_CONFIG. Every key is optional::

    regions = ["eu-west-1"]            # extra regions listed for every profile
    refresh_interval = 30              # seconds between background ping refreshes (default 30)
    audit_role_session_name = true     # name assume-role sessions after the caller (see clients)
    login_command = "exec bash -l"     # typed into every new shell session
    confirm_close = true               # ask before ctrl+w / ctrl+q end live sessions
    favourites = ["prod", ["dev", "dev-admin"]]   # keys 1-9 (default: first nine profiles)
    remember_selection = true          # start with the last run's profiles, regions, filter
    plugin = "auto"                    # auto | official | builtin
    max_concurrency_per_account = 8

    [profiles.prod]
    regions = ["us-east-1", "eu-west-1"]   # replaces the profile's own region list
    audit_role_session_name = false
    login_command = "sudo -iu ec2-user"
    hidden = false

    [instances."i-0abc123"]
    login_command = "exec zsh -l"

    [forwards.db]                      # a named port forward: `ssm-tui forward db`
    target = "bastion-1"               # instance id or Name tag (any profile, or `profile`)
    remote_host = "db.internal"        # optional: a host the instance reaches (ToRemoteHost)
    remote_port = 5432
    local_port = 15432                 # optional: 0 or absent picks a free port

    rdp_key = "~/.ssh/acme-windows.pem"   # GetPasswordData's key (also per profile/instance)

    [keymap]                           # binding id -> keys (Textual's App.set_keymap)
    "app.help" = "f1"
    "app.quit" = "ctrl+q,ctrl+x"

A key the model does not know is refused, naming the file, the key and the closest known key
(`refresh_intervall` -> "did you mean 'refresh_interval'?"), never silently dropped. Every
top-level scalar and list also comes from the environment: `SSM_TUI_<KEY>` (e.g.
`SSM_TUI_REFRESH_INTERVAL=5`, `SSM_TUI_REGIONS=eu-west-1,us-east-1`), which wins over the file.

Who reads what: `clients` (audit_role_session_name), `inventory` (regions, profiles.*.regions,
max_concurrency_per_account), `ui.services` and the CLIs (profiles.*.hidden), the main screen
(refresh_interval, login_command, instances.*, keymap), `plugin.launcher` (plugin),
`commands.forward` and the app's forwards screen through `ssm_tui.forwards` (forwards),
`aws.rdp_password` (rdp_key: `ssm-tui rdp --password`, the app's RDP screen).

pydantic is heavy to import (~0.2 s): this module is never on the first frame's path (the app
reads the settings on its AWS thread after the first frame; tests/ui/test_first_frame_path.py).

Why a separate file: the AWS config belongs to the AWS CLI and other tools; ssm-tui never writes it.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    create_model,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from ssm_tui.aws.errors import ConfigError

APP_NAME = "ssm-tui"
ENV_PREFIX = "SSM_TUI_"


def _string_list(value: Any) -> Any:
    """A list of strings, also written as one comma-separated string (as in the environment)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(value)
    return value


Regions = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_string_list)]


class ProfileSettings(BaseModel):
    """Per-profile overrides (`[profiles.NAME]`); None means "use the global value"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: Regions | None = None
    """Replaces the profile's own region list."""
    audit_role_session_name: bool | None = None
    login_command: str | None = None
    hidden: bool = False
    """Leave the profile out of the fleet, the CLIs and the picker."""
    # audit (issue 17): a StartSession Reason is asked for and required on this profile
    require_reason: bool = False
    # RDP password (issue 16, `aws/rdp_password.py`): the key pair's private key (.pem)
    rdp_key: str | None = None


class PatternHook(BaseModel):
    """`[[audit.on_pattern]]`: run `command` when a transcript line matches `pattern` (regex)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    command: str


class AuditSettings(BaseModel):
    """`[audit]` (issue 17, `ssm-tui audit watch`): hooks get the event as JSON on stdin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_session_start: str | None = None
    on_session_end: str | None = None
    on_pattern: list[PatternHook] = []
    watch_interval: float = 10.0
    """Seconds between DescribeSessions polls of `audit watch` and the watch feed."""


class InstanceSettings(BaseModel):
    """Per-instance overrides (`[instances."i-..."]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login_command: str | None = None
    # RDP password (issue 16, `aws/rdp_password.py`): the key pair's private key (.pem)
    rdp_key: str | None = None


class ForwardSettings(BaseModel):
    """A named port forward (`[forwards.NAME]`), opened by `ssm-tui forward NAME` (issue 16)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    """Instance id or Name tag of the managed node the forward goes through."""
    remote_port: int
    remote_host: str | None = None
    """A host the node reaches (AWS-StartPortForwardingSessionToRemoteHost); None: the node."""
    local_port: int = 0
    """0 picks a free port (kept across restarts)."""
    profile: str | None = None
    """Where to look for `target` (default: every profile the app shows)."""


class Settings(BaseSettings):
    """The settings file's model; environment variables `SSM_TUI_<KEY>` override the file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    regions: Regions = ()
    """Extra regions listed for every profile."""
    refresh_interval: float = 30.0
    """Seconds between background ping refreshes."""
    audit_role_session_name: bool = True
    """Name assume-role sessions after the caller (see `clients`)."""
    login_command: str | None = None
    """Typed into every new shell session."""
    plugin: Literal["auto", "official", "builtin"] = "auto"
    max_concurrency_per_account: int = 8
    """Scopes of one account and region listed at once (inventory.MAX_SCOPES_PER_ACCOUNT_REGION)."""
    utc_times: bool = False
    """Show and read times in UTC instead of local time (`ssm_tui.timefmt`)."""
    profiles: dict[str, ProfileSettings] = {}
    instances: dict[str, InstanceSettings] = {}
    # named port forwards (`ssm-tui forward NAME`, issue 16)
    forwards: dict[str, ForwardSettings] = {}
    # RDP password (issue 16): the private key for GetPasswordData when no instance or profile
    # names one (`[instances.X] rdp_key`, `[profiles.P] rdp_key`; by id or Name tag)
    rdp_key: str | None = None
    keymap: dict[str, str] = {}
    """Binding id -> keys (comma-separated), applied with Textual's `App.set_keymap`."""
    # moving around (issue 15): confirmations, favourites, remembered selection
    confirm_close: bool = True
    """Ask (one key) before ctrl+w ends a live session and before ctrl+q ends live sessions."""
    favourites: tuple[Annotated[tuple[str, ...], BeforeValidator(_string_list)], ...] = ()
    """Keys 1-9: each entry a profile name or a list of them ("prod" or ["prod", "dev"]);
    empty: the first nine profiles in config order."""
    remember_selection: bool = True
    """Start with the profiles, regions and filter of the last run (`ui.ui_state`)."""
    # audit (issue 17): watch hooks and poll interval (`[audit]`)
    audit: AuditSettings = AuditSettings()
    # issue 15 (one row per instance): account id or alias -> the profile Enter uses for it
    preferred_profiles: dict[str, str] = {}
    # fleet columns (issue 15): the fleet table's columns in order, by key or title (`status`,
    # `name`, `type`, `ami`, `vpc`…; `ssm_tui.ui.fleet_columns`); empty: the default columns.
    # The app's `C` key and palette change them; the change is remembered between runs.
    columns: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_string_list)] = ()
    _path: Path | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment wins over the file (passed in as init values); no .env, no secrets."""
        return (env_settings, init_settings)

    @property
    def path(self) -> Path | None:
        """The file these came from (None: defaults, no file)."""
        return self._path

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

    def requires_reason(self, profile: str | None) -> bool:
        """audit (issue 17): must a session on this profile carry a StartSession Reason?"""
        return self.profiles.get(profile or "", ProfileSettings()).require_reason

    def is_hidden(self, profile: str) -> bool:
        return self.profiles.get(profile, ProfileSettings()).hidden


def settings_path() -> Path:
    """Where the settings file lives (SSM_TUI_CONFIG wins over the platform config dir)."""
    env = os.environ.get("SSM_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


_KINDS = {
    "bool": "a bool",
    "int": "an int",
    "float": "a number",
    "string": "a string",
    "dict": "a table",
    "model": "a table",
    "tuple": "a list of strings",
    "list": "a list of strings",
}


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys known where `loc` points (for the close-match suggestion)."""
    if len(loc) >= 3 and loc[0] == "profiles":
        return list(ProfileSettings.model_fields)
    if len(loc) >= 3 and loc[0] == "instances":
        return list(InstanceSettings.model_fields)
    if len(loc) >= 2 and loc[0] == "audit":  # audit (issue 17)
        return list(
            PatternHook.model_fields if "on_pattern" in loc[1:2] else AuditSettings.model_fields
        )
    if len(loc) >= 3 and loc[0] == "forwards":
        return list(ForwardSettings.model_fields)
    return list(Settings.model_fields)


def _line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The line of the key at `loc` in the TOML text (best effort: None when not found)."""
    lines = text.splitlines()
    key = str(loc[-1])
    start, stop = 0, len(lines)
    if len(loc) >= 2:
        header = re.compile(
            r"^\s*\[\s*" + re.escape(str(loc[0])) + r"\s*\.\s*[\"']?"
            + re.escape(str(loc[1])) + r"[\"']?\s*\]"
        )  # fmt: skip
        found = next((n for n, line in enumerate(lines) if header.match(line)), None)
        if found is not None:
            start = found + 1
    if len(loc) == 1 or start == 0:
        stop = next((n for n, line in enumerate(lines) if line.lstrip().startswith("[")), stop)
    assignment = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for n in range(start, stop):
        if lines[n].lstrip().startswith("[") and n > start:
            break
        if assignment.match(lines[n]):
            return n + 1
    return None


def _explain(path: Path, text: str, error: ValidationError) -> ConfigError:
    """The first problem, in the file's words: which key, what is wrong, what was meant."""
    first = error.errors()[0]
    loc = tuple(first["loc"])
    dotted = ".".join(str(part) for part in loc)
    kind = first["type"]
    env_name = ENV_PREFIX + str(loc[0]).upper() if loc else ""
    source = f"{env_name} (environment)" if loc and env_name in os.environ else str(path)
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _fields_at(loc), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"unknown key {dotted!r}{hint}"
    elif kind.split("_")[0] in _KINDS and kind.endswith(("_type", "_parsing")):
        message = f"{dotted} must be {_KINDS[kind.split('_')[0]]}, got {first.get('input')!r}"
    elif kind == "literal_error":
        message = f"{dotted} {first['msg'].lower()}, got {first.get('input')!r}"
    else:
        message = f"{dotted}: {first['msg']}"
    line = _line_of(text, loc) if source == str(path) and loc else None
    return ConfigError(source, line, message)


@functools.cache
def _file_model() -> type[BaseModel]:
    """`Settings` as a plain model: what the file alone may hold, validated strictly.

    (`BaseSettings.model_validate` would mix the environment in and ignore `strict`.)
    """
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in Settings.model_fields.items()
    }
    return create_model("FileSettings", __config__=ConfigDict(extra="forbid"), **fields)


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file and the environment; a missing file is the defaults.

    A malformed file, an unknown key or a wrong type is a `ConfigError` naming the file (or the
    variable), the line and the key.
    """
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text, found = "", False
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), None, str(exc)) from None
    else:
        found = True
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError(str(path), line, str(exc).split(" (at line")[0]) from None
    try:
        # The file's own values strictly ("yes" is no bool there); the environment's are text.
        _file_model().model_validate(data, strict=True)
        settings = Settings(**data)
    except ValidationError as exc:
        raise _explain(path, text, exc) from None
    if found:
        settings._path = path
    return settings
