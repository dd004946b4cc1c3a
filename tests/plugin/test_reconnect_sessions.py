"""End to end through `ssm-tui connect --plugin builtin` in a real pty against the sandbox process:
a seq flood through a 30 s data-channel outage, the sandbox killed mid-session, the escapes."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest

from ssm_tui.demo import SandboxProcess
from tests.plugin.test_sandbox_sessions import PROMPT, SSM_TUI, linux_target, spawn

STATUS = re.compile(rb"\r\n\[ssm-tui-plugin: (.*?)\]\r\n")
"""A status line of the plugin on stderr, which shares the pty with the session's output."""

OUTAGE = 30.0
LINES = 600_000


@pytest.mark.slow
def test_seq_flood_through_a_30_s_outage_arrives_byte_exact(sandbox_env: Any) -> None:
    child = spawn([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    try:
        child.expect(PROMPT)
        child.sendline(
            f"stty -echo; seq 1 {LINES} | sha256sum; echo BEGIN; seq 1 {LINES}; echo END".encode()
        )
        child.expect(rb"([0-9a-f]{64})  -")
        remote_digest = child.match.group(1).decode()
        child.expect_exact(b"BEGIN\r\n")
        # search the whole buffer: on an idle machine one read can carry the mark past the window
        child.searchwindowsize = None
        child.expect_exact(b"\r\n2000\r\n")  # the flood is under way: cut it in the middle
        sandbox_env.set_faults(data_channel_outage=OUTAGE)
        child.expect_exact(b"END\r\n", timeout=OUTAGE + 180)
        stream = b"2000\r\n" + child.before
    finally:
        sandbox_env.reset_faults()
    statuses = [s.decode() for s in STATUS.findall(stream)]
    received = STATUS.sub(b"", stream).replace(b"\r\n", b"\n")  # the remote pty's onlcr
    assert any(s.startswith("reconnecting…") for s in statuses), statuses
    assert any(s.startswith("reconnected after") for s in statuses), statuses
    # the outage cut the flood: part of it came after the session was back
    after = stream.rsplit(b"[ssm-tui-plugin: reconnected after", 1)[1]
    assert re.search(rb"\r\n\d+\r\n\d+\r\n", after)
    full = b"".join(b"%d\n" % i for i in range(1, LINES + 1))
    assert received == full[full.index(b"\n2000\n") + 1 :]  # nothing lost, nothing twice
    assert hashlib.sha256(full).hexdigest() == remote_digest
    child.sendline(b"exit")
    child.expect(pexpect.EOF, timeout=90)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
def test_killed_sandbox_ends_the_session_quickly_and_says_why(
    tmp_path: Path, clean_aws_env: Path, monkeypatch: Any
) -> None:
    """SIGKILL: no channel_closed, the endpoint refuses connections. The client gives up in
    seconds (it spent ~5.5 minutes in ResumeSession retries before), with one clear line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    sandbox = SandboxProcess(directory=tmp_path / "sandbox", env={**env, "HOME": str(tmp_path)})
    sandbox.start(timeout=60)
    try:
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        cache_dir = sandbox.install_sso_token(clean_aws_env).parent
        import botocore.credentials
        import botocore.tokens

        for provider in (botocore.credentials.SSOProvider, botocore.tokens.SSOTokenProvider):
            monkeypatch.setattr(provider, "_SSO_TOKEN_CACHE_DIR", str(cache_dir))
        target = linux_target(None)
        child = spawn([*SSM_TUI, "connect", target, "--plugin", "builtin"])
        child.expect(PROMPT)
        child.sendline(b"echo before-$((1+1))")
        child.expect(b"before-2")
        assert sandbox.process is not None
        os.kill(sandbox.process.pid, signal.SIGKILL)
        child.expect("reconnecting…".encode())
        child.expect(rb"refused every connection", timeout=60)
        child.expect(pexpect.EOF, timeout=30)
        child.close()
        assert child.exitstatus not in (0, None)
        assert b"Traceback" not in (child.before or b"")
    finally:
        sandbox.stop()


@pytest.mark.slow
def test_escapes_help_literal_tilde_and_terminate(sandbox_env: Any) -> None:
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    child = spawn([*SSM_TUI, "connect", linux_target(sandbox_env), "--plugin", "builtin"])
    child.expect(rb"Starting session with SessionId: (\S+)\r")
    session_id = child.match.group(1).decode()
    child.expect(PROMPT)
    child.send(b"\r~?")  # help: printed locally, nothing sent
    child.expect_exact(b"~. - disconnect and terminate session")
    child.expect(PROMPT)
    child.send(b"\r~~")  # one literal ~ reaches the shell: it runs "~echo", not "echo"
    child.send(b"echo tilde-$((1+1))\r")
    child.expect_exact(b"~echo:")
    assert b"tilde-2" not in child.before
    child.expect(PROMPT)
    child.send(b"echo a~.b\r")  # not after a newline: passes through
    child.expect_exact(b"a~.b\r\n")
    child.expect(PROMPT)
    child.send(b"\r~.")
    child.expect(rb"terminating the session")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    sessions = ssm.describe_sessions(
        State="History", Filters=[{"key": "SessionId", "value": session_id}]
    )["Sessions"]
    assert sessions and sessions[0]["Status"] in ("Terminated", "Terminating")
