"""Issue 13, the AWS config as users break it: a duplicate section, one bad line, a config that
cannot be read, and a credential_process that hangs behind an assume-role profile. Each is a real
file read by real botocore in a real `ssm-tui list` process against the sandbox."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.faults.conftest import processes_with


def _profiles(stdout: str) -> set[str]:
    return {json.loads(line)["profile"] for line in stdout.splitlines()}


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_duplicate_section_and_a_bad_line_cost_only_the_broken_profile(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    """botocore rejects the whole file for either; aws-cli-like, the duplicate is merged and the
    bad line costs only its own profile, named with the file and the line."""
    path = config_with(
        "[profile prod]\nregion = us-east-1\n\n"  # prod is in the sandbox's config already
        "[profile typo]\nregion = us-east-1\n"
        "role_arn = arn:aws:iam::222222222222:role/SSMOperator\nsource_profile sandbox\n"
    )
    done = cli("list", "--json", "--no-cache", "-p", "prod", "-p", "sandbox", "-p", "typo")
    assert "Traceback" not in done.stderr, done.stderr
    assert _profiles(done.stdout) == {"prod", "sandbox"}, done.stderr
    bad = _line_of(path, "source_profile sandbox")
    assert f"{path}, line {bad}: cannot parse" in done.stderr, done.stderr
    assert "typo" in done.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    second = [n for n, line in enumerate(lines, start=1) if line == "[profile prod]"][1]
    assert f"{path}, line {second}: section [profile prod] appears twice" in done.stderr
    assert done.returncode == 1  # typo failed; the others listed


def test_every_profile_lists_from_a_file_with_a_bad_line(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    """No profile chosen: the listing is every profile the file still defines, and the broken
    one is an error row, not a reason to list nothing."""
    config_with("[profile typo]\nregion = us-east-1\nthis line is not key value\n")
    done = cli("list", "--json", "--no-cache")
    assert "Traceback" not in done.stderr
    assert {"prod", "sandbox", "dev"} <= _profiles(done.stdout)
    assert "typo" in done.stderr and "this line is not key value" in done.stderr


def test_a_directory_in_place_of_the_config_is_said_so(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What root can test of an unreadable config (mode 000 is readable to root): botocore reads
    nothing from it and says nothing; the message blamed a missing profile or region."""
    folder = tmp_path / "config-dir"
    folder.mkdir()
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder))
    done = cli("list", "--json", "--no-cache", "-p", "prod")
    assert "Traceback" not in done.stderr
    assert f"{folder}: is a directory, not a config file" in done.stderr, done.stderr
    assert done.returncode != 0 and done.stdout == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file: see the directory test")
def test_a_mode_000_config_is_said_so(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    path = config_with("")
    path.chmod(0)
    try:
        done = cli("list", "--json", "--no-cache", "-p", "prod")
    finally:
        path.chmod(0o600)
    assert "Traceback" not in done.stderr
    assert f"{path}: cannot be read (Permission denied)" in done.stderr, done.stderr
    assert done.returncode != 0


def test_hanging_credential_process_behind_assume_role_meets_its_deadline(cli, config_with) -> None:  # type: ignore[no-untyped-def]
    """A role profile whose source_profile runs a credential_process that never returns: botocore
    resolves the source through its own process provider (no deadline), which hung the listing."""
    marker = f"{3000 + uuid.uuid4().int % 5000}.{os.getpid()}"
    config_with(
        "[profile hung-source]\nregion = us-east-1\n"
        f"credential_process = sh -c 'sleep {marker} & sleep {marker}'\n\n"
        "[profile hung-role]\nregion = us-east-1\nrole_session_name = tester\n"
        "role_arn = arn:aws:iam::222222222222:role/SSMOperator\nsource_profile = hung-source\n"
    )
    done = cli(
        "list", "--json", "--no-cache", "-p", "hung-role", "-p", "prod",
        timeout=90, SSM_TUI_CREDENTIAL_PROCESS_TIMEOUT="3",
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    assert _profiles(done.stdout) == {"prod"}
    assert "hung-role" in done.stderr and "did not finish within 3 s" in done.stderr, done.stderr
    assert done.returncode == 1
    import subprocess

    left = processes_with(marker)
    assert left == [], (
        subprocess.run(
            ["ps", "-o", "pid,ppid,pgid,stat,etimes,cmd", "-p", ",".join(map(str, left))],
            capture_output=True,
            text=True,
        ).stdout
        + done.stderr
    )
