"""Session history records (`aws.history` reads them): a session as AWS and the local record know
it, and who started it. Plain and pure, like the rest of `aws.models`; not loaded before the first
frame (named tuples with string annotations cost a compile per field)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from ssm_tui.aws.models import ScopeError

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


# -- sessions ------------------------------------------------------------

ACTIVE_STATUSES = frozenset({"Connected", "Connecting", "Disconnected", "Terminating"})
"""Statuses DescribeSessions reports under State=Active."""


RUN_AS_SOURCES = {
    "preferences": "recorded: runAsDefaultUser",
    "tag": "recorded: SSMSessionRunAs tag",
    "default": "recorded: Run As off",
    "stream": "agent's CloudWatch stream",
}
"""Run As source -> how a view names it. The first three are the local record's (what the
preview read before the start, `aws.audit.RunAs.source`), 'stream' the agent's own word."""


def describe_run_as(user: str, source: str) -> str:
    """ "ops-user (recorded: runAsDefaultUser)", or "—" when no source knows the user."""
    if not user:
        return "—"
    return f"{user} ({RUN_AS_SOURCES.get(source, source)})" if source else user


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
    run_as: str = ""
    """The OS user the session ran as (Run As), "" when no source knows it (`aws/run_as.py`)."""
    run_as_source: str = ""
    """Where `run_as` came from: the local record's 'preferences', 'tag' or 'default' (what the
    Run As preview read at start) or 'stream' (the agent's streamed CloudWatch transcript)."""

    @property
    def run_as_text(self) -> str:
        """The Run As user and where it is known from, or "—" (never a guess)."""
        return describe_run_as(self.run_as, self.run_as_source)

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
            "RunAs": self.run_as or None,
            "RunAsSource": self.run_as_source or None,
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
