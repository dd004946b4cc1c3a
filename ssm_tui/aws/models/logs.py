"""Session-logs records (`aws.logs` reads them): where transcripts go, which exist, and what kept
them from being read. Plain, like the rest of `aws.models`; not loaded before the first frame."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

# -- transcripts --------------------------------------------------

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
