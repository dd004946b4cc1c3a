"""The OS user a session's shell runs as (Run As), decided at StartSession as AWS and the agent do.

The agent takes `runAsEnabled` / `runAsDefaultUser` from the session document's inputs (for a
shell, the Session Manager preferences, `SSM-SessionManagerRunShell`), and a user the service
hands it from the IAM principal's `SSMSessionRunAs` tag over the default one (agent:
`framework/docparser/docparser.go` parsePluginStateForStartSession). With Run As off it runs the
shell as `ssm-user` (`session/shell/shell_unix.go`, `appconfig.DefaultRunAsUserName`). The user
is what the agent writes as `runAsUser` into every streamed CloudWatch event
(`sandbox/streaming.py`), and what the sandbox's shell is told it is (USER, LOGNAME, the prompt):
the sandbox's shells all run as the sandbox's own OS user, so only the name is the agent's.
"""

from __future__ import annotations

from typing import Any

from ssm_tui.sandbox.identity import Caller

DEFAULT_USER = "ssm-user"
TAG = "SSMSessionRunAs"
SHELL_TYPES = frozenset({"Standard_Stream", "InteractiveCommands"})
"""Session types whose document runs a shell as a user (Port sessions run none)."""


def principal_tag(caller: Caller) -> str | None:
    """The caller's role's (or IAM user's) `SSMSessionRunAs` tag in moto's IAM, if any."""
    from moto.iam.models import iam_backends

    tags: Any
    try:
        iam = iam_backends[caller.account_id]["aws"]
        if caller.role_name:
            tags = iam.get_role(caller.role_name).tags
        else:
            tags = iam.get_user(caller.name).tags
    except Exception:  # noqa: BLE001 - unknown principal (moto's default user): no tag
        return None
    for tag in (tags.values() if isinstance(tags, dict) else tags) or ():
        if tag.get("Key") == TAG and tag.get("Value"):
            return str(tag["Value"])
    return None


def run_as_user(content: dict[str, Any], shell_inputs: dict[str, Any], caller: Caller) -> str:
    """The user a session of this document runs as; "" when it runs no shell (port sessions)."""
    session_type = content.get("sessionType")
    if session_type not in SHELL_TYPES:
        return ""
    inputs = (content.get("inputs") or {}) if session_type == "Standard_Stream" else shell_inputs
    if inputs.get("runAsEnabled") not in (True, "true", "True"):
        return DEFAULT_USER
    return principal_tag(caller) or str(inputs.get("runAsDefaultUser") or "") or DEFAULT_USER
