"""Plain records that the services in `ssm_tui.aws` return and the UI and CLI render.

They hold AWS text as plain `str`: whoever displays them must show it literally (rich `Text`, never
markup), because tag values and log lines come from users of the account.

The records of history, transcripts and Run Command live here too, beside the inventory's:
widgets and screens may import this module and `aws.exceptions` only, never the readers.

Immutable records are named tuples; the two that keep a field out of equality (`Instance.tags`,
`StartedSession.parameters`) or hide one from `repr` are frozen dataclasses. This module loads
before the app's first frame, where defining a dataclass costs ~1 ms and a named tuple ~0.1 ms
(measured: the module went from ~6.5 ms to ~3 ms).
"""

from __future__ import annotations

from collections.abc import Iterable
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


# -- callers -----------------------------------------------------------------------------------


def caller_name_from_arn(arn: str) -> str | None:
    """`alice` from `...:user/alice` or `...:assumed-role/Role/alice`; None for root."""
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    if not resource or resource == "root" or "/" not in resource:
        return None
    return resource.rsplit("/", 1)[-1] or None


def caller_name(arn: str) -> str:
    """The name Session Manager puts at the start of session ids, from a caller ARN.

    `arn:aws:iam::1:user/path/alice` → alice; `arn:aws:sts::1:assumed-role/Role/alice` → alice
    (the role session name); root → root.
    """
    return caller_name_from_arn(arn) or ("root" if arn.endswith(":root") else arn)


# -- session history (`aws.history`) ------------------------------------------------------------

ACTIVE_STATUSES = frozenset({"Connected", "Connecting", "Disconnected", "Terminating"})
"""Statuses DescribeSessions reports under State=Active."""


class SessionSummary(NamedTuple):
    """One row of history: a session as AWS and/or the local record know it."""

    session_id: str
    target: str
    status: str
    owner: str = ""
    """The caller ARN that started it (AWS) or the local user's profile caller."""
    start: datetime | None = None
    end: datetime | None = None
    reason: str = ""
    document: str = ""
    profile: str = ""
    account_id: str = ""
    region: str = ""
    s3_output: str = ""
    cloudwatch_output: str = ""
    source: str = "aws"
    """'aws', 'local' or 'both': where this row was found."""
    exit_status: int | None = None
    """From the local record: the remote command's status when one came back (`connect
    --command`); None when none is known (shell sessions: the agent sends none)."""
    plugin: str = ""
    """From the local record: 'official' or 'builtin'."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def exit_text(self) -> str:
        """The remote status for display: the number, or "—" when none is known."""
        return "—" if self.exit_status is None else str(self.exit_status)

    @property
    def owner_name(self) -> str:
        """The user or role session name of the owner (what the console shows)."""
        return caller_name(self.owner) if self.owner else ""

    @property
    def log_location(self) -> str:
        """Where the transcript is (or will be), for the history column."""
        return self.cloudwatch_output or self.s3_output

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict (`ssm-tui history --json`)."""
        return {
            "SessionId": self.session_id,
            "Target": self.target,
            "Status": self.status,
            "Owner": self.owner,
            "StartDate": self.start.isoformat() if self.start else None,
            "EndDate": self.end.isoformat() if self.end else None,
            "Reason": self.reason,
            "DocumentName": self.document,
            "Profile": self.profile,
            "AccountId": self.account_id,
            "Region": self.region,
            "OutputUrl": {
                "S3OutputUrl": self.s3_output,
                "CloudWatchOutputUrl": self.cloudwatch_output,
            },
            "Source": self.source,
            "ExitStatus": self.exit_status,
            "Plugin": self.plugin,
        }


class HistoryResult(NamedTuple):
    """Sessions of every scope that answered, newest first, and why the others did not."""

    sessions: tuple[SessionSummary, ...] = ()
    errors: tuple[ScopeError, ...] = ()
    callers: tuple[tuple[str, str], ...] = ()
    """(profile, caller ARN) for each scope whose identity was read: who "me" is."""


def others_connected(
    sessions: Iterable[SessionSummary], instance_id: str, me: Iterable[str] = ()
) -> list[SessionSummary]:
    """Active sessions on `instance_id` whose owner is not one of `me` (ARNs or caller names).

    Pure, so the fleet can call it on rows it already has.
    """
    mine = {m for m in me if m}
    names = {caller_name(m) if ":" in m else m for m in mine}
    return [
        s
        for s in sessions
        if s.target == instance_id
        and s.active
        and s.owner not in mine
        and (not s.owner or s.owner_name not in names)
    ]


# -- session logs and transcripts (`aws.logs`) --------------------------------------------------

TRANSCRIPT_LIMIT = 500
"""Transcripts listed per source at most (newest first); the panel can ask for more."""


class LogsState(StrEnum):
    """What the logs panel shows when there is no list of transcripts to show."""

    NOT_CONFIGURED = "not-configured"
    NO_PERMISSION = "no-permission"
    NOT_WRITTEN = "not-written"
    ERROR = "error"


class LogsProblem(NamedTuple):
    """Why (part of) the logs could not be read, and what to do about it."""

    state: LogsState
    message: str
    hint: str = ""
    action: str = ""
    """The IAM action that was denied (NO_PERMISSION), e.g. `logs:GetLogEvents`."""
    profile: str = ""
    source: str = ""
    """'cloudwatch', 's3', 'preferences' or 'identity'."""


class CallerIdentity(NamedTuple):
    """Who the profile's credentials are, and the name Session Manager puts in session ids."""

    account_id: str
    arn: str
    name: str
    """IAM user name or role session name: the prefix of this caller's session ids."""

    @property
    def session_prefix(self) -> str:
        return f"{self.name}-"


class LoggingPreferences(NamedTuple):
    """The account's Session Manager logging settings, from `SSM-SessionManagerRunShell`."""

    profile: str
    region: str
    log_group: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    cloudwatch_encryption: bool = False
    s3_encryption: bool = False
    cloudwatch_streaming: bool = False
    kms_key_id: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.log_group or self.s3_bucket)

    def s3_key(self, session_id: str) -> str:
        """Where Session Manager puts one session's transcript in the bucket."""
        return f"{self.key_prefix}{session_id}.log"

    @property
    def key_prefix(self) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/" if prefix else ""

    def describe(self) -> str:
        """One line for the panel header."""
        parts = []
        if self.log_group:
            enc = ", encrypted" if self.cloudwatch_encryption else ""
            stream = ", streaming" if self.cloudwatch_streaming else ""
            parts.append(f"CloudWatch {self.log_group}{enc}{stream}")
        if self.s3_bucket:
            enc = ", encrypted" if self.s3_encryption else ""
            parts.append(f"S3 s3://{self.s3_bucket}/{self.key_prefix}{enc}")
        return " · ".join(parts) if parts else "logging not configured"


class TranscriptRef(NamedTuple):
    """One transcript: a CloudWatch stream or an S3 object."""

    source: str
    """'cloudwatch' or 's3'."""
    profile: str
    region: str
    session_id: str
    container: str
    """Log group name or bucket name."""
    name: str
    """Stream name or object key."""
    size: int | None = None
    """Bytes (S3 object size, CloudWatch storedBytes when the service reports it)."""
    first_time: datetime | None = None
    last_time: datetime | None = None
    """Last event time (CloudWatch) or LastModified (S3): the sort key, newest first."""

    @property
    def location(self) -> str:
        if self.source == "s3":
            return f"s3://{self.container}/{self.name}"
        return f"{self.container}:{self.name}"

    @property
    def key(self) -> str:
        return f"{self.source}|{self.profile}|{self.region}|{self.container}|{self.name}"

    def matches(self, search: str) -> bool:
        """Case-insensitive substring match on the session id and location (the panel's search)."""
        folded = search.casefold()
        return folded in self.session_id.casefold() or folded in self.location.casefold()


class TranscriptListing(NamedTuple):
    """What the logs panel shows for one profile: preferences, transcripts and problems."""

    profile: str
    region: str
    preferences: LoggingPreferences | None = None
    caller: CallerIdentity | None = None
    items: tuple[TranscriptRef, ...] = ()
    problems: tuple[LogsProblem, ...] = ()
    truncated: bool = False
    """More transcripts exist than `limit` allowed."""
    everyone: bool = False


# -- Run Command (`aws.commands`) ---------------------------------------------------------------


class InvocationResult(NamedTuple):
    """How one instance ran the command (or why it did not)."""

    instance: Instance
    document: str
    command_id: str
    status: str
    details: str
    exit_code: int | None
    stdout: str
    stderr: str
    error: str = ""
    """Why nothing ran here (the scope's AWS error, or the instance was not connected)."""

    @property
    def succeeded(self) -> bool:
        return self.status == "Success"
