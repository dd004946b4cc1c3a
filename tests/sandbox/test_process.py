"""The sandbox as a process: flags, env file, a 10,000-instance fleet, clean exit on signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from ssm_tui.demo import SandboxProcess, read_env_file
from ssm_tui.sandbox.world import ACCOUNTS, REGIONS, build_world
from tests.procs import alive, descendants

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def _child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)
    return env


@pytest.mark.slow
def test_large_fleet_pages_through_both_apis(tmp_path: Path, monkeypatch) -> None:
    count = 10_000
    with SandboxProcess(instances=count, env=_child_env(tmp_path / "home")) as sandbox:
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        world = build_world(count=count)
        managed_total = 0
        # one profile per account (the base user, then a switched role into each other account)
        for profile, account in (
            ("sandbox", "111111111111"),
            ("prod", "222222222222"),
            ("dev", "333333333333"),
        ):  # noqa: E501
            session = boto3.Session(profile_name=profile)
            for region in REGIONS:
                ssm = session.client("ssm", region_name=region, config=NO_RETRY)
                ids: list[str] = []
                pages = ssm.get_paginator("describe_instance_information").paginate(
                    PaginationConfig={"PageSize": 50}
                )
                for page in pages:
                    assert len(page["InstanceInformationList"]) <= 50
                    ids += [i["InstanceId"] for i in page["InstanceInformationList"]]
                assert ids == [i.instance_id for i in world.managed(account, region)]
                managed_total += len(ids)
        assert managed_total == sum(1 for i in world.instances if i.managed) > 7_000
        # EC2 pages of 1,000 (botocore's XML parsing is the slow part: one account/region)
        ec2 = boto3.Session(profile_name="prod").client("ec2", region_name="eu-west-1")
        pages = list(
            ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000})
        )
        assert len(pages) == 2
        listed = [r["Instances"][0]["InstanceId"] for p in pages for r in p["Reservations"]]
        assert listed == [i.instance_id for i in world.ec2(ACCOUNTS["prod"], "eu-west-1")]


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory):
    """A sandbox started with fault flags (the base profile broken, latency on)."""
    base = tmp_path_factory.mktemp("flagged")
    process = SandboxProcess(
        broken_profile="sandbox",
        latency_ms=1,
        drop_sessions_after=30,
        seed=7,
        instances=12,
        env=_child_env(base / "home"),
    )
    process.start()
    yield process
    process.stop()


def test_fault_flags_apply_from_the_start(flagged: SandboxProcess, monkeypatch) -> None:
    assert flagged.faults() == {
        "latency_ms": 1,
        "throttle": 0.0,
        "broken_profile": "sandbox",
        "ec2_throttled_profile": None,
        "ec2_denied_profile": None,
        "sessions_denied_profile": None,
        "sessions_throttled_profile": None,
        "drop_sessions_after": 30.0,
        "socket_lifetime": None,
        "data_channel_outage": None,
        "data_channel_latency": 0,
    }
    for key, value in flagged.env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ClientError) as error:
        boto3.Session(profile_name="sandbox").client("sts", config=NO_RETRY).get_caller_identity()
    assert error.value.response["Error"]["Code"] == "ExpiredToken"
    # a role profile whose source profile is broken cannot even assume its role
    with pytest.raises(ClientError) as error:
        boto3.Session(profile_name="dev").client("ssm", config=NO_RETRY).describe_sessions(
            State="Active"
        )
    assert error.value.response["Error"]["Code"] == "ExpiredToken"
    # the SSO profile does not depend on the broken keys
    from tests.conftest import RUN_HOME

    flagged.install_sso_token(RUN_HOME)  # where in-process botocore looks (see RUN_HOME)
    sso = boto3.Session(profile_name="sso-dev").client("sts", config=NO_RETRY)
    assert sso.get_caller_identity()["Account"] == "333333333333"


def test_env_file_works_with_sh_and_matches_the_ready_line(flagged: SandboxProcess) -> None:
    assert flagged.env_file is not None
    shown = subprocess.run(
        ["sh", "-c", 'set -a; . "$1"; env', "sh", str(flagged.env_file)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout.splitlines()
    from_shell = dict(line.split("=", 1) for line in shown if line.startswith("AWS_"))
    assert from_shell == flagged.env == read_env_file(flagged.env_file)
    assert flagged.env["AWS_ENDPOINT_URL"] == flagged.endpoint
    assert flagged.env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert "AWS_MAX_ATTEMPTS" not in flagged.env
    assert flagged.profiles == ["sandbox", "prod", "dev", "prod-readonly", "sso-dev"]
    assert flagged.accounts == ACCOUNTS
    config = Path(flagged.env["AWS_CONFIG_FILE"]).read_text()
    assert (
        "[profile prod]" in config and "role_session_name" not in config.split("[profile dev]")[0]
    )
    # an sso-session name no real config has (a real `acme` session must never be clobbered)
    assert re.search(r"^\[sso-session ssm-tui-sandbox-[0-9a-f]{8}\]$", config, re.MULTILINE)


def test_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ssm_tui.sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "loopback only" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_it_cleanly_with_no_child_left(
    tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = SandboxProcess(
        instances=8, directory=tmp_path / "files", env=_child_env(tmp_path / "home")
    )
    sandbox.start()
    try:
        process = sandbox.process
        assert process is not None
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        started = _start_shell_session()
        with connect(started["StreamUrl"], open_timeout=10) as socket:
            socket.send(
                json.dumps(
                    {
                        "MessageSchemaVersion": "1.0",
                        "RequestId": str(uuid.uuid4()),
                        "TokenValue": started["TokenValue"],
                        "ClientId": str(uuid.uuid4()),
                        "ClientVersion": "1.2.0.0",
                    }
                )
            )
            deadline = time.monotonic() + 15
            children = descendants(process.pid)
            while not children and time.monotonic() < deadline:
                time.sleep(0.1)
                children = descendants(process.pid)
            assert children, "the session's shell should be running under the sandbox"
            process.send_signal(sig)
            assert process.wait(timeout=30) == 0
        assert not [pid for pid in children if alive(pid)]
    finally:
        sandbox.stop()


def _start_shell_session() -> dict[str, str]:
    ssm = boto3.Session(profile_name="sandbox").client("ssm", config=NO_RETRY)
    target = next(
        i
        for i in ssm.describe_instance_information()["InstanceInformationList"]
        if i["PingStatus"] == "Online"
    )
    return ssm.start_session(Target=target["InstanceId"])


def test_sandbox_stops_when_its_parent_dies(tmp_path: Path) -> None:
    """A parent killed with SIGKILL cannot stop its sandbox; the closed stdin pipe does."""
    script = (
        "import sys, time\n"
        "from ssm_tui.demo import SandboxProcess\n"
        "p = SandboxProcess(instances=3, directory=sys.argv[1]).start()\n"
        "print(p.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "files")],
        stdout=subprocess.PIPE,
        text=True,
        env=_child_env(tmp_path / "home"),
    )
    assert parent.stdout is not None
    sandbox_pid = int(parent.stdout.readline())
    assert alive(sandbox_pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while alive(sandbox_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(sandbox_pid)
