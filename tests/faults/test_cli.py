"""Issue 13, the CLIs: no traceback where a message belongs, no hang where a deadline belongs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from tests.faults.conftest import command, processes_with


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
def test_list_json_into_a_closed_pipe_ends_quietly(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    """`ssm-tui list --json | head -2`: no BrokenPipeError traceback, the SIGPIPE status."""
    process = subprocess.Popen(
        command("list", "--json", "--no-cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert process.stdout is not None and process.stderr is not None
    first = [process.stdout.readline(), process.stdout.readline()]
    process.stdout.close()  # what `head -2` does once it has its lines
    err = process.stderr.read().decode()
    code = process.wait(120)
    assert all(json.loads(line) for line in first)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 128 + signal.SIGPIPE


@pytest.mark.slow
def test_json_stdout_holds_only_rows(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("list", "--json", "--no-cache")
    assert done.returncode == 0, done.stderr
    rows = _json_lines(done.stdout)  # every line parses: no trailer
    assert rows and "instance(s)" not in done.stderr + done.stdout


def test_unknown_top_level_profile_is_a_message_not_invalid_choice(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("--profile", "nope")
    assert done.returncode == 2
    assert "invalid choice" not in done.stderr
    assert "unknown profile 'nope'" in done.stderr and "prod" in done.stderr


@pytest.mark.slow
def test_sso_token_rejected_prints_one_line_not_tracebacks(cli, sandbox_env, clean_aws_env) -> None:  # type: ignore[no-untyped-def]
    """The SSO portal rejects the cached token: botocore logs each failed mandatory refresh with
    a traceback; the command says it once, with the login command."""
    token = sandbox_env.install_sso_token(clean_aws_env)
    for path in token.parent.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**data, "accessToken": "revoked"}), encoding="utf-8")
    done = cli("list", "--json", "--no-cache", "--profile", "sso-dev", "--profile", "prod")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert "Refreshing temporary credentials failed" not in done.stderr
    assert "aws sso login --profile sso-dev" in done.stderr
    assert {row["profile"] for row in _json_lines(done.stdout)} == {"prod"}


@pytest.mark.slow
def test_hanging_credential_process_times_out_streams_the_others_and_leaves_nothing(
    cli, config_with, sandbox_env
) -> None:  # type: ignore[no-untyped-def]
    """A credential_process that never returns (and has a child): the other profiles' rows
    arrive while it still hangs, it is stopped at its deadline with its child, one error row."""
    marker = f"{3000 + uuid.uuid4().int % 5000}.{os.getpid()}"
    config_with(
        "[profile hang]\nregion = us-east-1\n"
        f"credential_process = sh -c 'sleep {marker} & sleep {marker}'\n"
    )
    env = {**os.environ, "SSM_TUI_CREDENTIAL_PROCESS_TIMEOUT": "20"}
    process = subprocess.Popen(
        command("list", "--json", "--no-cache", "-p", "sandbox", "-p", "prod", "-p", "hang"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()))
    reader.start()
    reader.join(120)
    streamed_while_hanging = process.poll() is None and bool(processes_with(marker))
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    rows = _json_lines(first[0] + out)
    assert streamed_while_hanging  # rows were written before the hung profile gave up
    assert {row["profile"] for row in rows} == {"sandbox", "prod"}
    assert process.returncode == 1
    assert "hang" in err and "did not finish within 20 s" in err, err
    assert "Traceback" not in err
    assert processes_with(marker) == []  # the helper and its child were killed


@pytest.mark.slow
def test_credential_process_garbage_and_missing_program_get_hints(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    config_with(
        "[profile garbage]\nregion = us-east-1\ncredential_process = echo this-is-not-json\n\n"
        "[profile missing]\nregion = us-east-1\n"
        "credential_process = /nonexistent/bin/credential-helper --json\n"
    )
    done = cli("list", "--json", "--no-cache", "-p", "garbage", "-p", "missing", "-p", "prod")
    assert done.returncode == 1
    assert "JSONDecodeError" not in done.stderr and "FileNotFoundError" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "printed no JSON credentials" in done.stderr and "this-is-not-json" in done.stderr
    assert "program not found: /nonexistent/bin/credential-helper" in done.stderr
    assert "hint:" in done.stderr
    assert {row["profile"] for row in _json_lines(done.stdout)} == {"prod"}


@pytest.mark.slow
def test_source_profile_loop_fails_only_its_profiles(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    """a -> b -> a: the audit-name lookup used to wait on its own lock for ever (0 rows)."""
    config_with(
        "[profile loop-a]\nregion = us-east-1\n"
        "role_arn = arn:aws:iam::222222222222:role/SSMOperator\nsource_profile = loop-b\n\n"
        "[profile loop-b]\nregion = us-east-1\n"
        "role_arn = arn:aws:iam::333333333333:role/SSMOperator\nsource_profile = loop-a\n"
    )
    done = cli("list", "--json", "--no-cache", "-p", "loop-a", "-p", "loop-b", "-p", "prod")
    assert done.returncode == 1
    assert {row["profile"] for row in _json_lines(done.stdout)} == {"prod"}
    assert "loop-a" in done.stderr and "loop-b" in done.stderr
    assert "source_profile" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_corrupt_sso_token_cache_file_gets_a_hint(cli, sandbox_env, clean_aws_env) -> None:  # type: ignore[no-untyped-def]
    token = sandbox_env.install_sso_token(clean_aws_env)
    for path in token.parent.glob("*.json"):
        path.write_text('{"accessToken": "abc", "expiresAt": ', encoding="utf-8")  # cut short
    done = cli("list", "--json", "--no-cache", "-p", "sso-dev", "-p", "prod")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "KeyError" not in done.stderr and "'" + token.stem + "'" not in done.stderr
    assert "aws sso login --profile sso-dev" in done.stderr, done.stderr
    assert {row["profile"] for row in _json_lines(done.stdout)} == {"prod"}


def test_ctrl_c_while_the_demo_starts_ends_quietly_and_stops_the_sandbox(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGINT (Ctrl-C) while `ssm-tui --demo` waits for its sandbox: no KeyboardInterrupt
    traceback, status 130, and the sandbox it was starting is gone."""
    process = subprocess.Popen(
        command("--demo"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert process.stderr is not None
    assert "starting the sandbox" in process.stderr.readline()
    process.send_signal(signal.SIGINT)
    try:
        err = process.stderr.read()
        code = process.wait(60)
    finally:
        process.kill()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert code == 128 + signal.SIGINT
    # The sandbox ends when its stdin (our pipe) closes: give it a few seconds to see that.
    deadline = time.monotonic() + 15
    while processes_with(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(str(tmp_path)) == []  # no sandbox left running
