"""The session token leaves no trace in our plugin's process (issue 13, security).

The real `ssm-tui` runs in a real pty against the sandbox and opens a shell tab with the builtin
plugin (the official one is not on the tests' PATH). The plugin used to get the StartSession
response in its environment, where /proc/PID/environ keeps it for the session's life even after
`os.environ.pop`. Now it reads it once from an inherited pipe: the token must be in neither the
plugin's environ nor its argv, and no pipe to read it again may remain open in it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.faults_app.test_exit import open_shell, reap, wait_gone


def plugin_pids(pids: set[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ssm_tui.plugin.main" in cmdline:
            found.append(pid)
    return found


@pytest.mark.slow
def test_builtin_plugin_holds_no_token_in_environ_argv_or_fds(sandbox_env):  # noqa: ANN001
    child, _opened, below = open_shell()
    try:
        (pid,) = plugin_pids(below)
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"AWS_SSM_START_SESSION_RESPONSE" not in environ
        assert b"TokenValue" not in environ
        assert b"TokenValue" not in cmdline
        # the token came on a pipe the plugin read and closed; the one pipe left is the status
        # pipe it writes its connection state to (write end only, named in its environment)
        variables = dict(item.split(b"=", 1) for item in environ.split(b"\0") if b"=" in item)
        status_fd = variables.get(b"SSM_TUI_PLUGIN_STATUS_FD")
        assert status_fd is not None
        pipes = {
            fd
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        }
        assert pipes == {status_fd.decode()}
        flags = Path(f"/proc/{pid}/fdinfo/{status_fd.decode()}").read_text()
        assert int(flags.split("flags:")[1].split()[0], 8) & os.O_ACCMODE == os.O_WRONLY
    finally:
        os.kill(child.pid, signal.SIGTERM)
        wait_gone({child.pid}, 30)
        reap(child)
        child.close(force=True)
