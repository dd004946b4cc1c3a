"""The app ends its sessions and exits on SIGHUP/SIGTERM, whatever its UI loop is doing (issue 13).

The real `ssm-tui` runs in a real pty (pexpect) against the sandbox with a shell session open.
- Closing the pty's master is what closing the outer terminal does: the kernel hangs the tty up
  (SIGHUP to the app) and every later write to it fails. The app used to stay alive for ever,
  its UI loop blocked on Textual's output queue, ignoring SIGTERM.
- A terminal that stops reading (paused, frozen) fills the pty: Textual's output thread blocks,
  then the UI loop blocks on the full queue; SIGTERM used to wait for the loop that never turned.
Either way the app must be gone shortly after, with no plugin process left and the session no
longer Active. The waits below are deadlines for something that never happened before the fix,
not speed measurements.
"""

from __future__ import annotations

import os
import signal
import time

import pexpect
import pytest

from tests.app_in_pty import active_ids, spawn_app, wait_gone
from tests.app_in_pty import open_shell as open_shell_in
from tests.procs import alive

EXIT_DEADLINE = 30.0


def open_shell() -> tuple[pexpect.spawn, set[str], set[int]]:
    """`ssm-tui` in a pty with a shell tab on the first Linux instance: (app, opened, plugins)."""
    child = spawn_app()
    opened, plugins = open_shell_in(child)
    return child, opened, plugins


def reap(child: pexpect.spawn) -> int | None:
    """SIGKILL what is left (a failing run), collect the zombie, return its wait status."""
    if alive(child.pid):
        os.kill(child.pid, signal.SIGKILL)
    try:
        _, status = os.waitpid(child.pid, 0)
    except ChildProcessError:
        status = None
    child.ptyproc.terminated = True
    return status


@pytest.mark.slow
def test_closing_the_terminal_ends_the_session_and_the_app(sandbox_env):  # noqa: ANN001
    child, opened, plugins = open_shell()
    try:
        child.ptyproc.fileobj.close()  # the outer terminal goes away: SIGHUP, tty gone
        child.ptyproc.closed = child.closed = True
        left = wait_gone({child.pid}, EXIT_DEADLINE)
        if left:  # what the old app did: SIGTERM did not end it either
            os.kill(child.pid, signal.SIGTERM)
            left = wait_gone({child.pid}, 5)
        assert not left, "ssm-tui still runs after its terminal closed"
    finally:
        reap(child)
    assert not wait_gone(plugins, 10)
    assert not (opened & active_ids())


@pytest.mark.slow
@pytest.mark.parametrize("pause", [1, 2, 4])
def test_sigterm_ends_an_app_whose_terminal_stopped_reading(sandbox_env, pause):  # noqa: ANN001
    """CI once saw the app outlive SIGTERM by 30 s here: the Python-level handler never ran
    (the main thread sat in an uninterruptible wait behind the blocked output). The pauses
    catch the output at different stages of filling up; 1-3 s failed 3 runs in 8 before the
    signals moved to their own thread (`ssm_tui.ui.signal_watch`)."""
    child, opened, plugins = open_shell()
    status = None
    try:
        child.send("seq 1 100000000\r")
        time.sleep(pause)  # nobody reads the pty: the app's output blocks, then its UI loop
        os.kill(child.pid, signal.SIGTERM)
        left = wait_gone({child.pid}, EXIT_DEADLINE)
        assert not left, "ssm-tui ignored SIGTERM while its output was blocked"
    finally:
        status = reap(child)
        child.close(force=True)
    assert status is not None
    # the app's own exit path ended it, not the SIGALRM backstop (nor our SIGKILL)
    assert not os.WIFSIGNALED(status), f"ended by signal {os.WTERMSIG(status)}"
    assert not wait_gone(plugins, 10)
    assert not (opened & active_ids())
