"""`ssm-tui history` and `ssm-tui logs` as a user runs them: real processes on the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.history.conftest import Ran, drive, linux_target, put_s3, start_session

EVIL = b"\x1b]0;evil\x07\x1b[2J[red]markup\r\nplain line\r\n"


def ssm_tui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", *args],
        capture_output=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def test_history_json_lists_the_session(aws: Any, finished: Ran) -> None:
    done = ssm_tui("history", "--profile", "sandbox", "--target", finished.target, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    row = next(r for r in rows if r["SessionId"] == finished.session_id)
    assert row["Status"] == "Terminated" and row["Owner"].endswith(":user/alice")
    assert row["OutputUrl"]["CloudWatchOutputUrl"] and row["Source"] == "aws"
    assert {r["Target"] for r in rows} == {finished.target}


def test_history_table_and_a_failing_profile(aws: Any, finished: Ran) -> None:
    aws.set_faults(broken_profile="dev")
    try:
        done = ssm_tui("history", "-p", "sandbox", "-p", "dev")
    finally:
        aws.reset_faults()
    assert done.returncode == 1  # one scope failed; the others are still listed
    assert finished.session_id.encode() in done.stdout
    assert b"dev" in done.stderr and b"hint:" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.slow
def test_logs_prints_plain_text_of_the_transcript(aws: Any, finished: Ran) -> None:
    done = ssm_tui("logs", finished.session_id)  # profile found by asking every profile
    assert done.returncode == 0, done.stderr
    assert b"echo hello-from-history" in done.stdout and b"\nhello-from-history" in done.stdout
    assert b"\x1b" not in done.stdout
    s3 = ssm_tui("logs", finished.session_id, "--profile", "sandbox", "--source", "s3")
    assert s3.stdout == done.stdout  # the same text from either destination


@pytest.mark.slow
def test_logs_never_passes_escapes_through_unless_raw_to_a_file(aws: Any) -> None:
    put_s3("alice-00000000000000e71", EVIL)
    done = ssm_tui("logs", "alice-00000000000000e71", "-p", "sandbox")
    assert done.stdout == b"[red]markup\nplain line\n"
    raw = ssm_tui("logs", "alice-00000000000000e71", "-p", "sandbox", "--raw")
    assert raw.stdout == EVIL  # stdout is a pipe here: the recorded bytes, unchanged


@pytest.mark.slow
def test_logs_of_unknown_session_says_why(aws: Any) -> None:
    done = ssm_tui("logs", "alice-0000000000000none", "-p", "sandbox")
    assert done.returncode == 1
    assert (
        b"when the session ends" in done.stderr
        and b"no session alice-0000000000000none" in done.stderr
    )
    bad = ssm_tui("logs", "x", "-p", "nosuchprofile")
    assert bad.returncode == 2 and b"unknown profile" in bad.stderr


@pytest.mark.slow
async def test_logs_follow_waits_for_the_session_and_ends_with_it(aws: Any) -> None:
    target = await linux_target()
    started = await start_session(target)
    follower = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "logs", started["SessionId"], "-p", "sandbox"]
        + ["--follow", "--interval", "0.3", "--source", "cloudwatch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        assert follower.stderr is not None
        first = follower.stderr.readline()  # it found nothing yet and waits for the stream
        assert b"waiting for the transcript" in first
        await drive(started, [b"echo followed-output\r"])
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    assert b"\nfollowed-output" in out
