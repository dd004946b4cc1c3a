"""Which plugin runs a session, and exactly how to run it (`PluginLaunch`).

The official `session-manager-plugin` is used when it is installed (or named with a path); ours,
`ssm-tui-plugin`, otherwise or when asked for with `builtin`. Both get the command line aws-cli
builds; the StartSession response (with its token) never goes on argv, so it never shows in `ps`:
- the official plugin gets it in the environment form, its contract: the response in
  `AWS_SSM_START_SESSION_RESPONSE`, only that variable's *name* on argv. (It stays in that
  process's /proc/PID/environ for the session's life: nothing we can change from outside.)
- ours gets it through an inherited pipe, `fd:N` on argv: the launcher writes the response into
  the pipe and closes its end, the plugin reads it once and closes it, so nothing of it is left in
  the process's environment, argv or open files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field

from ssm_tui.aws.models import StartedSession

BUILTIN = "builtin"
OFFICIAL_NAME = "session-manager-plugin"
RESPONSE_ENV = "AWS_SSM_START_SESSION_RESPONSE"
RESPONSE_FD_PREFIX = "fd:"
"""argv[1] = `fd:N`: our plugin reads the response from inherited descriptor N."""
PIPE_LIMIT = 60_000
"""A pipe holds 64 KiB: a response up to this size is written before the plugin even starts."""


class PluginNotFound(Exception):
    """The plugin named with --plugin does not exist or cannot be run."""


@dataclass
class PluginLaunch:
    """What starting one session's plugin takes: run `argv` with `env` added to the
    environment and `pass_fds` inherited, then call `close()` in the parent.

    `env` may hold the token (official plugin): it is left out of `repr`.
    """

    command: list[str]
    """The plugin program (for ours: this interpreter, `-m`, the module)."""
    args: list[str]
    """The six StartSession arguments aws-cli passes."""
    env: dict[str, str] = field(repr=False)
    builtin: bool
    pass_fds: tuple[int, ...] = ()
    """Descriptors the child must inherit (the response pipe); the parent's copies are
    closed by `close()` once the child started, or when the launch is abandoned."""
    status_fd: int | None = None
    """Ours, when asked for (`plugin_command(status=True)`): the read end of the plugin's
    connection-state pipe (`plugin/status.py`); whoever takes it closes it, else `close()`."""

    @property
    def argv(self) -> list[str]:
        return [*self.command, *self.args]

    @property
    def label(self) -> str:
        return "builtin" if self.builtin else "official"

    def close(self) -> None:
        """Close the parent's copies of `pass_fds` (idempotent)."""
        fds, self.pass_fds = self.pass_fds, ()
        if self.status_fd is not None:
            fds, self.status_fd = (*fds, self.status_fd), None
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


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


def response_pipe(response: str) -> int:
    """A pipe holding `response`, closed for writing: the read end, to be inherited."""
    data = response.encode()
    if len(data) > PIPE_LIMIT:
        raise ValueError("StartSession response too large for the response pipe")
    read_end, write_end = os.pipe()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end


def plugin_command(
    started: StartedSession,
    plugin: str | None = None,
    *,
    program: list[str] | None = None,
    token_pipe: bool = True,
    status: bool = False,
) -> PluginLaunch:
    """How to run `started` with the chosen plugin; the token is never on argv.

    `program`: the plugin `resolve_plugin` found before StartSession (so that a missing one
    starts no session); else `plugin` is resolved now.

    Ours reads the response from a pipe (`token_pipe`, the default) or, with
    `token_pipe=False`, from the environment as the official plugin does. With `status`, ours
    also reports its connection state on a pipe (`launch.status_fd`, `plugin/status.py`).
    """
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
    command = program if program is not None else resolve_plugin(plugin)
    builtin = is_builtin(command)
    rest = [started.region, "StartSession", started.profile, json.dumps(request), endpoint]
    if builtin and token_pipe:
        fd = response_pipe(response)
        launch = PluginLaunch(command, [f"{RESPONSE_FD_PREFIX}{fd}", *rest], {}, True, (fd,))
    else:
        launch = PluginLaunch(command, [RESPONSE_ENV, *rest], {RESPONSE_ENV: response}, builtin)
    if builtin and status:
        from ssm_tui.plugin.status import STATUS_FD_ENV, status_pipe

        launch.status_fd, write_end = status_pipe()
        launch.pass_fds = (*launch.pass_fds, write_end)
        launch.env[STATUS_FD_ENV] = str(write_end)
    return launch
