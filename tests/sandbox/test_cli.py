"""The shared sandbox driven with the real aws-cli, configured only by the env file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ssm_tui.sandbox.world import build_world

WORLD = build_world()
AWS = str(Path(sys.executable).with_name("aws"))


def aws(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AWS, *args, "--output", "json"],
        capture_output=True,
        text=True,
        env=env if env is not None else os.environ.copy(),
        timeout=120,
    )


@pytest.mark.parametrize(
    ("profile", "account", "region", "service"),
    [
        ("prod", "222222222222", "us-east-1", "ssm"),
        ("dev", "333333333333", "eu-west-1", "ec2"),
        ("sso-dev", "333333333333", "us-east-1", "ssm"),
    ],
)
def test_cli_lists_each_profiles_fleet(
    sandbox_env, profile: str, account: str, region: str, service: str
) -> None:
    if service == "ssm":
        result = aws("ssm", "describe-instance-information", "--profile", profile)
        assert result.returncode == 0, result.stderr
        listed = {i["InstanceId"] for i in json.loads(result.stdout)["InstanceInformationList"]}
        assert listed == {i.instance_id for i in WORLD.managed(account, region)}
    else:
        result = aws("ec2", "describe-instances", "--profile", profile)
        assert result.returncode == 0, result.stderr
        reservations = json.loads(result.stdout)["Reservations"]
        assert {r["Instances"][0]["InstanceId"] for r in reservations} == {
            i.instance_id for i in WORLD.ec2(account, region)
        }


def test_cli_default_profile_comes_from_the_env_file(sandbox_env) -> None:
    result = aws("sts", "get-caller-identity")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == "arn:aws:iam::111111111111:user/alice"


@pytest.mark.slow
def test_cli_start_session_without_plugin_ends_the_session(sandbox_env, tmp_path: Path) -> None:
    env = os.environ.copy()
    env["PATH"] = f"{tmp_path}:/usr/bin:/bin"
    assert shutil.which("session-manager-plugin", path=env["PATH"]) is None
    target = next(
        i for i in WORLD.managed("333333333333", "eu-west-1") if i.ping_status == "Online"
    )
    result = aws(
        "ssm", "start-session", "--target", target.instance_id, "--profile", "dev", env=env
    )
    assert result.returncode == 255
    assert "SessionManagerPlugin is not found" in result.stdout + result.stderr
    history = aws(
        "ssm",
        "describe-sessions",
        "--state",
        "History",
        "--filters",
        f"key=Target,value={target.instance_id}",
        "--profile",
        "dev",
    )
    sessions = json.loads(history.stdout)["Sessions"]
    assert any(s["SessionId"].startswith("alice-") for s in sessions)
    assert {s["Status"] for s in sessions} == {"Terminated"}


@pytest.mark.slow
def test_cli_reports_throttling_and_expired_credentials(sandbox_env) -> None:
    env = os.environ.copy()
    env["AWS_MAX_ATTEMPTS"] = "1"  # this test's choice: see the error, not the retries
    sandbox_env.set_faults(throttle=1.0)
    try:
        result = aws("ssm", "describe-instance-information", env=env)
        assert result.returncode != 0
        assert "ThrottlingException" in result.stderr
    finally:
        sandbox_env.reset_faults()
    sandbox_env.set_faults(broken_profile="dev")
    try:
        result = aws("ec2", "describe-instances", "--profile", "dev", env=env)
        assert result.returncode != 0
        assert "ExpiredToken" in result.stderr
    finally:
        sandbox_env.reset_faults()
