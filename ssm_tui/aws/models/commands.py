"""Run Command records (`aws.commands` sends the commands): how each instance ran one."""

from __future__ import annotations

from typing import NamedTuple

from ssm_tui.aws.models import Instance

# -- invocations ---------------------------------------------------------------


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
