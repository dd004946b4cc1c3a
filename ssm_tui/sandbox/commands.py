"""How the SSM agent runs a session document's commands, so the sandbox is no kinder than it is.

Read from `aws/amazon-ssm-agent` (snapshot 1c217c8):
- `agent/session/shell/shell_unix.go` `StartCommandExecutor`: a session without commands
  (Standard_Stream) runs `sh` in a pty. NonInteractiveCommands (and every command in container
  mode) runs `shlex.Split(commands)` through `exec.Command`, **no shell**: `exit 3`, `a && b`,
  pipes and `$VAR` mean nothing unless the command is itself `sh -c '...'`. InteractiveCommands on
  an instance runs `sh -c <commands>` in a pty (the issue text said "without a shell" for both;
  the agent's source says otherwise for InteractiveCommands, and the source wins). Every child
  gets `TERM=xterm-256color` (and `LANG=C.UTF-8` when unset).
- `agent/session/shell/shell.go` `Execute` / `executeCommandsWithExec`: NonInteractiveCommands has
  no stdin at all. Without the document property `separateOutputStream` stdout and stderr go to
  one file that is sent after the command exits (`processCommandsWithExec`), and **no ExitCode
  payload** is sent. With it (`processCommandsWithOutputStreamSeparate`) stdout goes as Output,
  stderr as StdErr payloads, each piece after a newline led by `stdOutSeparatorPrefix` /
  `stdErrSeparatorPrefix` (`^[0-9a-zA-Z\\r\\n_:-]{0,30}$`), then `EXIT_CODE: <n>`.
- `separateOutputStream` is a document *property* (`ShellConfig` in
  `agent/session/contracts/model.go`, under `linux`/`windows`/`macos`): `--parameters` cannot turn
  it on, only a document of one's own. The AWS-owned command documents set none.
- A command that cannot be parsed or started ends the session with the error as a StdErr payload
  (`sendErrorToDataChannel`), after the agent's 1 s sleep.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

INTERACTIVE_DOCUMENT = "AWS-StartInteractiveCommand"
NON_INTERACTIVE_DOCUMENT = "AWS-StartNonInteractiveCommand"
STANDARD_STREAM = "Standard_Stream"
INTERACTIVE = "InteractiveCommands"
NON_INTERACTIVE = "NonInteractiveCommands"

SHELL = "sh"
"""What the agent runs for a shell session and for InteractiveCommands (`sh -c`)."""

_PREFIX = re.compile(r"^[0-9a-zA-Z\r\n_:-]{0,30}$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def _published(session_type: str, description: str) -> dict[str, Any]:
    per_platform = {"commands": "{{command}}", "runAsElevated": False}
    return {
        "schemaVersion": "1.0",
        "description": description,
        "sessionType": session_type,
        "parameters": {
            "command": {"type": "String", "description": "The command to run on the instance"}
        },
        "properties": {platform: dict(per_platform) for platform in ("windows", "linux", "macos")},
    }


AWS_COMMAND_DOCUMENTS: dict[str, dict[str, Any]] = {
    INTERACTIVE_DOCUMENT: _published(
        INTERACTIVE, "Document to run single interactive command on an instance"
    ),
    NON_INTERACTIVE_DOCUMENT: _published(
        NON_INTERACTIVE, "Document to run single non interactive command on an instance"
    ),
}
"""The AWS-owned command documents as AWS publishes them: no `separateOutputStream`."""


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """What the agent would exec for a shell-like session, and how it reports."""

    session_type: str
    argv: tuple[str, ...] = (SHELL,)
    pty: bool = True
    separate_streams: bool = False
    stdout_prefix: str = ""
    stderr_prefix: str = ""
    error: str | None = None
    """Set when the agent would refuse to start the command (sent as StdErr, then the end)."""


def _parameter(parameters: dict[str, list[str]], name: str) -> str:
    values = [str(v) for v in parameters.get(name) or []]
    return "\n".join(values)


def _interpolate(value: Any, parameters: dict[str, list[str]]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: _parameter(parameters, m.group(1)), value)
    if isinstance(value, dict):
        return {k: _interpolate(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, parameters) for v in value]
    return value


def document_content(name: str, content: dict[str, Any] | None) -> dict[str, Any]:
    """The document's content: the one stored with the session, else the AWS-published one."""
    if content:
        return content
    return AWS_COMMAND_DOCUMENTS.get(name, {})


def linux_properties(content: dict[str, Any], parameters: dict[str, list[str]]) -> dict[str, Any]:
    """The `linux` shell properties with `{{ name }}` replaced by the session's parameters."""
    properties = content.get("properties")
    if isinstance(properties, str):  # documents may carry properties as a JSON string
        try:
            properties = json.loads(properties)
        except ValueError:
            properties = {}
    if not isinstance(properties, dict):
        return {}
    linux = properties.get("linux", properties)
    return _interpolate(linux, parameters) if isinstance(linux, dict) else {}


def _as_bool(value: Any) -> bool | None:
    """`parameters.ConvertToBool`: a bool, or the strings true/false; None when it is neither."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    return None


def plan_command(
    session_type: str, content: dict[str, Any], parameters: dict[str, list[str]]
) -> CommandPlan:
    """The agent's `StartCommandExecutor` + `setSeparateOutputStreamProperties`, for Linux."""
    props = linux_properties(content, parameters)
    commands = str(props.get("commands") or "")
    if session_type == STANDARD_STREAM or not commands.strip():
        return CommandPlan(session_type, (SHELL,), pty=session_type != NON_INTERACTIVE)
    if session_type == INTERACTIVE:
        return CommandPlan(session_type, (SHELL, "-c", commands))
    separate = _as_bool(props.get("separateOutputStream"))
    if separate is None:
        return CommandPlan(
            session_type,
            pty=False,
            error="unable to convert separateOutPutStream: "
            f"{props.get('separateOutputStream')!r} is not a boolean",
        )
    stdout_prefix = str(props.get("stdOutSeparatorPrefix") or "") if separate else ""
    stderr_prefix = str(props.get("stdErrSeparatorPrefix") or "") if separate else ""
    for name, prefix in (("stdout", stdout_prefix), ("stderr", stderr_prefix)):
        if not _PREFIX.match(prefix):
            return CommandPlan(
                session_type, pty=False, error=f"invalid {name}SeparatorPrefix {prefix}"
            )
    try:
        argv = tuple(shlex.split(commands))
    except ValueError as exc:
        return CommandPlan(
            session_type, pty=False, error=f"Failed to parse commands input: {exc}\n"
        )
    return CommandPlan(
        session_type,
        argv or (SHELL,),
        pty=False,
        separate_streams=separate,
        stdout_prefix=stdout_prefix,
        stderr_prefix=stderr_prefix,
    )


class Prefixer:
    """Leads each piece of output that starts a line with the prefix (`setupRoutineToWrite...`).

    The agent decides per read: a prefix goes before the first non-empty read and before every
    read that follows one ending in a newline.
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix.encode()
        self._need = True

    def __call__(self, data: bytes) -> bytes:
        if not self._prefix or not data:
            return data
        out = self._prefix + data if self._need else data
        self._need = data.endswith(b"\n")
        return out
