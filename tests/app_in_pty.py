"""The real `ssm-tui` in a pty (pexpect) against the sandbox, for tests that signal or starve it."""

from __future__ import annotations

import os
import sys
import time

import boto3
import pexpect

from tests.procs import alive, descendants


def active_ids() -> set[str]:
    """The sandbox account's Active sessions, as an operator would list them."""
    ssm = boto3.Session(profile_name="sandbox", region_name="us-east-1").client("ssm")
    return {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}


def spawn_app(*args: str, timeout: float = 30) -> pexpect.spawn:
    """`ssm-tui ARGS` in a 140x40 pty, text mode."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "ssm_tui.cli", *args],
        env=dict(os.environ),
        dimensions=(40, 140),
        timeout=timeout,
        encoding="utf-8",
        codec_errors="replace",
    )


def open_shell(child: pexpect.spawn) -> tuple[set[str], set[int]]:
    """A shell tab on the first Linux instance of `child`: (the session opened, its plugins)."""
    before = active_ids()
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
    return opened, plugins


def wait_gone(pids: set[int], deadline: float) -> set[int]:
    """The processes of `pids` still alive after up to `deadline` seconds."""
    end = time.monotonic() + deadline
    while any(alive(pid) for pid in pids) and time.monotonic() < end:
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}
