"""Plain records that the services in `ssm_tui.aws` return and the UI and CLI render.

They hold AWS text as plain `str`: whoever displays them must show it literally (rich `Text`, never
markup), because tag values and log lines come from users of the account.

Widgets and screens import records from this package and `aws.exceptions` only, never from the
readers. The records the first frame does not need are in submodules, imported on use:
`models.history` (sessions, callers), `models.logs` (transcripts), `models.commands` (Run Command).

Immutable records are named tuples; the two that keep a field out of equality (`Instance.tags`,
`StartedSession.parameters`) or hide one from `repr` are frozen dataclasses. This module loads
before the app's first frame, where defining a dataclass costs ~1 ms and a named tuple ~0.1 ms
(measured: the module went from ~6.5 ms to ~3 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class ProfileKind(StrEnum):
    """How a profile gets its credentials."""

    KEYS = "keys"
    ASSUME_ROLE = "assume-role"
    SSO = "sso"
    PROCESS = "process"
    ENVIRONMENT = "environment"
    """Credentials from AWS_* environment variables only (no named profile)."""


class Profile(NamedTuple):
    """One AWS profile as botocore resolves it (or one discovered through IAM Identity Center)."""

    name: str
    kind: ProfileKind
    region: str | None = None
    account_id: str | None = None
    """Known from the config (sso_account_id, role_arn) or after GetCallerIdentity."""
    role_arn: str | None = None
    source_profile: str | None = None
    role_session_name: str | None = None
    sso_session: str | None = None
    sso_role_name: str | None = None
    discovered: bool = False
    """True for an SSO account/role found through ListAccounts, not written in any file."""


class Account(NamedTuple):
    """An AWS account and the profiles that reach it."""

    account_id: str
    alias: str | None
    profiles: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.alias or (self.profiles[0] if self.profiles else self.account_id)


class PingStatus(StrEnum):
    ONLINE = "Online"
    CONNECTION_LOST = "ConnectionLost"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True)
class Instance:
    """One managed node (EC2 `i-*` or hybrid `mi-*`) as seen through one profile and region."""

    profile: str
    account_id: str
    region: str
    instance_id: str
    name: str
    ping_status: str
    """Online / ConnectionLost / Inactive (kept as str: AWS may add values)."""
    platform_type: str = ""
    platform_name: str = ""
    agent_version: str = ""
    ip_address: str = ""
    computer_name: str = ""
    resource_type: str = ""
    """EC2Instance or ManagedInstance."""
    last_ping: datetime | None = None
    instance_state: str = ""
    """EC2 state (running/stopped) when known."""
    instance_type: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    account_label: str = ""
    """Account alias or profile name, for display."""
    # issue 15 (fleet detail view): EC2 details when DescribeInstances gave them
    image_id: str = ""
    vpc_id: str = ""
    subnet_id: str = ""
    iam_role: str = ""
    """The instance profile's ARN (EC2) or the hybrid node's IAM role."""

    @property
    def node(self) -> str:
        """The machine itself, whichever profile sees it: one fleet row per node."""
        return f"{self.account_id}/{self.region}/{self.instance_id}"

    @property
    def key(self) -> str:
        """Stable identity across refreshes: the same node seen through two profiles is two rows."""
        return f"{self.profile}/{self.region}/{self.instance_id}"

    @property
    def supports_ssh(self) -> bool:
        """ssh needs an sshd: Linux and macOS nodes have one, Windows nodes do not."""
        return self.platform_type in ("Linux", "MacOS")


class ScopeError(NamedTuple):
    """Why one profile (and region) could not be listed. Never hides the other profiles."""

    profile: str
    region: str | None
    message: str
    hint: str = ""
    """The next step for the user, e.g. `aws sso login --profile X`."""
    code: str = ""
    """The AWS error code when there is one (ExpiredToken, AccessDeniedException, ...)."""


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A StartSession response plus what a plugin needs to run it."""

    session_id: str
    token_value: str
    stream_url: str
    target: str
    region: str
    profile: str
    document_name: str | None = None
    parameters: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)
    endpoint_url: str = ""
    """The resolved SSM endpoint (the plugin calls ResumeSession/TerminateSession there)."""

    def __repr__(self) -> str:  # never let the token reach a log through repr()
        return (
            f"StartedSession(session_id={self.session_id!r}, target={self.target!r}, "
            f"region={self.region!r}, profile={self.profile!r}, token_value='***')"
        )


class Scope(NamedTuple):
    """One unit of inventory work: a profile in a region."""

    profile: str
    region: str


class ScopeResult(NamedTuple):
    """What one scope returned: its instances, or the error that explains why not."""

    scope: Scope
    instances: tuple[Instance, ...] = ()
    error: ScopeError | None = None
    elapsed: float = 0.0
    """Seconds this scope's chain of calls took."""
    from_cache: bool = False
    fetched_at: datetime | None = None
    partial: ScopeError | None = None
    """Every row is there but some of their detail failed (EC2 DescribeInstances throttled past
    its retries or denied): EC2 instances are named from earlier listings or SSM's ComputerName,
    with no state. The UI and the CLI say so; it never hides the rows."""
