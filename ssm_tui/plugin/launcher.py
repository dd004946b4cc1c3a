"""Which plugin runs a session, and the exact (argv, env) to run it with.

The official `session-manager-plugin` is used when it is installed (or named with a path); ours,
`ssm-tui-plugin`, otherwise or when asked for with `builtin`. Both get the same command line as
aws-cli builds it, in the environment form: the StartSession response (with its token) goes in
`AWS_SSM_START_SESSION_RESPONSE` and only that variable's *name* is on argv, so the token never
shows in `ps`. The plugin removes the variable from its own environment once read.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from ssm_tui.aws.models import StartedSession

BUILTIN = "builtin"
OFFICIAL_NAME = "session-manager-plugin"
RESPONSE_ENV = "AWS_SSM_START_SESSION_RESPONSE"


class PluginNotFound(Exception):
    """The plugin named with --plugin does not exist or cannot be run."""


def find_official_plugin() -> str | None:
    """The official plugin on PATH, if installed."""
    return shutil.which(OFFICIAL_NAME)


def builtin_command() -> list[str]:
    """Our plugin, run with this interpreter (works from a venv without the script on PATH)."""
    return [sys.executable, "-m", "ssm_tui.plugin.main"]


def resolve_plugin(plugin: str | None = None) -> list[str]:
    """The command that starts the plugin: `None` = official if installed else ours."""
    if plugin == BUILTIN:
        return builtin_command()
    if plugin:
        path = shutil.which(plugin) if os.sep not in plugin else plugin
        if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise PluginNotFound(f"plugin not found or not executable: {plugin}")
        return [path]
    official = find_official_plugin()
    return [official] if official else builtin_command()


def is_builtin(command: list[str]) -> bool:
    return command == builtin_command()


def plugin_command(
    started: StartedSession, plugin: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """(argv, env additions) that run `started` with the chosen plugin; the token is in env only."""
    request: dict[str, object] = {"Target": started.target}
    if started.document_name:
        request["DocumentName"] = started.document_name
    if started.parameters:
        request["Parameters"] = started.parameters
    response = json.dumps(
        {
            "SessionId": started.session_id,
            "TokenValue": started.token_value,
            "StreamUrl": started.stream_url,
        }
    )
    endpoint = started.endpoint_url or f"https://ssm.{started.region}.amazonaws.com"
    argv = [
        *resolve_plugin(plugin),
        RESPONSE_ENV,
        started.region,
        "StartSession",
        started.profile,
        json.dumps(request),
        endpoint,
    ]
    return argv, {RESPONSE_ENV: response}
