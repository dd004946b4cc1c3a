"""Killing the app (SIGTERM, or SIGHUP when its terminal goes away) leaves nothing behind.

The real `ssm-tui` runs in a pty (pexpect) against the sandbox, opens a shell session, and gets a
signal. Afterwards no plugin process of it may be alive and its session must not be Active.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import boto3
import pexpect
import pytest

from ssm_tui.store import Store
from tests.procs import alive, descendants


def active_ids() -> set[str]:
    ssm = boto3.Session(profile_name="sandbox", region_name="us-east-1").client("ssm")
    return {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_ends_the_session_and_its_plugin(sandbox_env, signum):  # noqa: ANN001
    before = active_ids()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ssm_tui.cli"],
        env=dict(os.environ),
        dimensions=(40, 140),
        timeout=30,
        encoding="utf-8",
        codec_errors="replace",
    )
    try:
        child.expect("up to date")
        # keys one step at a time, reading the screen in between (a focus change is a message)
        for keys in ("4", "/", "platform:linux", "\r", "\r"):
            child.send(keys)
            child.expect([pexpect.TIMEOUT], timeout=0.7)
        child.expect("ssm-user@")  # the shell prompt of the first Linux instance
        deadline = time.monotonic() + 30
        while not (active_ids() - before) and time.monotonic() < deadline:
            child.expect([pexpect.TIMEOUT], timeout=0.2)
        opened = active_ids() - before
        assert len(opened) == 1
        plugins = descendants(child.pid)
        assert plugins, "the session's plugin runs under the app"
        os.kill(child.pid, signum)
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in plugins) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in plugins if alive(pid)]
    assert not (opened & active_ids())
    recorded = {r.session_id: r for r in Store().local_sessions()}
    (session_id,) = opened
    assert recorded[session_id].ended_at is not None


@pytest.mark.slow
def test_demo_starts_its_sandbox_and_stops_it_on_quit(tmp_path):  # noqa: ANN001
    """`ssm-tui --demo`: a sandbox child appears, the fleet lists, ctrl+q leaves nothing."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ssm_tui.cli", "--demo"],
        env=dict(os.environ),
        dimensions=(40, 140),
        timeout=60,
        encoding="utf-8",
        codec_errors="replace",
    )
    try:
        child.expect("up to date")
        below = descendants(child.pid)
        assert below, "the sandbox runs as a child of the app"
        child.send("\x11")  # ctrl+q
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in below if alive(pid)]
    assert not list(Path(os.environ["HOME"]).glob(".aws/sso/cache/*.json"))  # user files untouched
