"""Issue 17: `audit watch` retries a profile that failed its first poll, with a capped backoff,
says that it fails and when it is tried next, and says when it works again; the sessions of that
profile then appear (sandbox fault `broken_profile`: the profile's credentials are rejected)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import boto3

from ssm_tui.aws.audit import Retry, SessionEvent, Watcher
from ssm_tui.aws.models import Scope, ScopeError
from tests.history.conftest import linux_target

DEV = Scope("dev", "eu-west-1")


def test_the_retry_delay_doubles_up_to_its_cap() -> None:
    error = ScopeError("dev", "eu-west-1", "expired")
    delays = [Retry(error, failures=n).delay(1.0, 8.0) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def _poll_until_back(watcher: Watcher, scope: Scope) -> list[SessionEvent]:
    """Poll (as `audit watch` does, a short interval apart) until `scope` is reported back."""
    events: list[SessionEvent] = []
    for _ in range(40):
        await asyncio.sleep(0.25)
        events += await watcher.poll()
        if scope in watcher.recovered:
            return events
    raise AssertionError(f"{scope} never recovered: {watcher.errors}")


async def test_a_profile_that_failed_its_first_poll_is_retried_and_its_sessions_appear(
    aws: Any,
) -> None:
    target = await linux_target("dev", "eu-west-1")
    # dev's account and region, through another role (SSO): it still works during the fault
    other = boto3.Session(profile_name="sso-dev", region_name="eu-west-1").client("ssm")
    aws.set_faults(broken_profile="dev")
    sid = ""
    try:
        watcher = Watcher([Scope("sandbox", "us-east-1"), DEV], retry_first=0.2, retry_cap=0.4)
        first = await watcher.poll()
        assert all(e.profile == "sandbox" for e in first)  # the others still poll
        (error,) = watcher.errors
        assert error.profile == "dev" and "failed 1×; retrying in" in error.message, error
        sid = other.start_session(Target=target, Reason="during the fault")["SessionId"]
        await asyncio.sleep(0.3)
        assert [e.session_id for e in await watcher.poll()] == []
        (error,) = watcher.errors
        assert "failed 2×" in error.message, error  # tried again, and still failing
        assert watcher.recovered == []
        aws.reset_faults()
        events = await _poll_until_back(watcher, DEV)
        assert watcher.errors == []
        (start,) = [e for e in events if e.session_id == sid]
        # started while dev was failing, after the watch began: a start, hooks and all
        assert start.kind == "start" and start.reason == "during the fault"
        assert (start.profile, start.account_id, start.target) == ("dev", "333333333333", target)
        assert watcher.recovered == [DEV]
        await asyncio.sleep(0.25)
        await watcher.poll()
        assert watcher.recovered == []  # reported once, on the poll it came back
    finally:
        aws.reset_faults()
        if sid:
            other.terminate_session(SessionId=sid)


def test_audit_watch_says_a_profile_fails_then_that_it_works_again(aws: Any) -> None:
    aws.set_faults(broken_profile="dev")
    watch = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "audit", "watch", "-p", "dev", "-p", "sandbox"]
        + ["--interval", "0.3", "--count", "400", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
        text=True,
    )
    lines: list[str] = []
    try:
        assert watch.stderr is not None
        for line in watch.stderr:
            lines.append(line)
            if line.startswith("watching"):
                break
        assert any("dev" in line and "retrying in" in line for line in lines), lines
        aws.reset_faults()
        for line in watch.stderr:
            lines.append(line)
            if "working again" in line:
                break
    finally:
        aws.reset_faults()
        watch.terminate()
        watch.communicate(timeout=30)
    assert lines[-1].strip() == "dev (eu-west-1): working again", lines
    assert not any("Traceback" in line for line in lines)
