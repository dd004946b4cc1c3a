"""The exceptions ssm-tui raises: each carries a message and a `hint` with the next step.

They live apart from `ssm_tui.aws.errors` (which explains any failure, looking up the profile's
kind for its hint) so that the profile reader can raise them without an import circle:
errors -> profiles -> exceptions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssm_tui.aws.models.logs import LogsProblem


class SsmTuiError(Exception):
    """Base of every error ssm-tui explains itself (message + hint, no traceback needed)."""

    code: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  {self.hint}" if self.hint else self.message


class NoProfilesError(SsmTuiError):
    """No AWS profile to work on (`services.select_profiles`): none in the config files, none
    from the environment. `connect` then tries the default credential chain (an instance role)."""


class ConfigError(SsmTuiError):
    """A configuration file (AWS config, credentials, ssm-tui settings) could not be read."""

    code = "ConfigError"

    def __init__(self, file: str, line: int | None, message: str) -> None:
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {message}", hint=f"fix or move {file} and try again")
        self.file = file
        self.line = line
        self.detail = message


class UnknownProfileError(SsmTuiError):
    """A profile name that no config file (nor SSO discovery) defines."""

    code = "ProfileNotFound"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=1)
        self.suggestion = close[0] if close else None
        listing = ", ".join(self.known) if self.known else "(none: no AWS config found)"
        hint = f"did you mean {self.suggestion!r}? " if self.suggestion else ""
        super().__init__(f"unknown profile {name!r}", hint=f"{hint}known profiles: {listing}")


class CredentialsError(SsmTuiError):
    """Credentials are missing, expired or rejected; `hint` is the command that fixes it."""

    code = "CredentialsError"

    def __init__(self, profile: str | None, message: str, hint: str = "", code: str = "") -> None:
        super().__init__(message, hint)
        self.profile = profile
        if code:
            self.code = code


class AccessDenied(SsmTuiError):
    """The credentials work but lack a permission."""

    code = "AccessDenied"


class Throttled(SsmTuiError):
    """AWS kept throttling after every retry botocore made."""

    code = "Throttling"


class NetworkError(SsmTuiError):
    """The endpoint could not be reached (no network, wrong region, proxy)."""

    code = "NetworkError"


class LogsError(Exception):
    """A session-logs call failed in a way the caller should show as its `LogsProblem`."""

    def __init__(self, problem: LogsProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem
