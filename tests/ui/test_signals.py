"""Killing the app (SIGTERM, or SIGHUP when its terminal goes away) leaves nothing behind.

The real `ssm-tui` runs in a pty (pexpect) against the sandbox, opens a shell session, and gets a
signal. Afterwards no plugin process of it may be alive and its session must not be Active.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pexpect
import pytest

from ssm_tui.store import Store
from tests.app_in_pty import active_ids, open_shell, spawn_app, wait_gone
from tests.procs import descendants


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_ends_the_session_and_its_plugin(sandbox_env, signum):  # noqa: ANN001
    child = spawn_app()
    try:
        opened, plugins = open_shell(child)
        os.kill(child.pid, signum)
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    assert not wait_gone(plugins, 10)
    assert not (opened & active_ids())
    recorded = {r.session_id: r for r in Store().local_sessions()}
    (session_id,) = opened
    assert recorded[session_id].ended_at is not None


@pytest.mark.slow
def test_demo_starts_its_sandbox_and_stops_it_on_quit(tmp_path):  # noqa: ANN001
    """`ssm-tui --demo`: a sandbox child appears, the fleet lists, ctrl+q leaves nothing."""
    child = spawn_app("--demo", timeout=60)
    try:
        child.expect("up to date")
        below = descendants(child.pid)
        assert below, "the sandbox runs as a child of the app"
        child.send("\x11")  # ctrl+q
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert not wait_gone(below, 10)
    assert not list(Path(os.environ["HOME"]).glob(".aws/sso/cache/*.json"))  # user files untouched
