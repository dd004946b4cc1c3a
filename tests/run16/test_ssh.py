"""SSH over Session Manager with the real OpenSSH client: ssh, scp and sftp through the sandbox.

Each connection is `AWS-StartSSHSession` through `ssm-tui ssh-proxy` (our plugin) to the
instance's own sshd in the sandbox, which accepts exactly the keys pushed with EC2 Instance
Connect in the last `key_lifetime` seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ssm_tui.aws.ssh import new_key
from tests.run16.conftest import prod_instance, wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("ssh") is None or shutil.which("scp") is None or shutil.which("sftp") is None,
    reason="OpenSSH's ssh/scp/sftp are not installed (Debian package: openssh-client)",
)


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=dict(os.environ),
        timeout=120,
    )


def _tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def _proxy(instance_id: str) -> str:
    return (
        f"{sys.executable} -m ssm_tui.cli ssh-proxy --profile prod --region us-east-1 {instance_id}"
    )


def _plain_ssh(key: Path, user: str, instance_id: str, known_hosts: Path, *command: str) -> Any:
    """ssh with no config of ours: only this key, only our proxy."""
    return _tool(
        "ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
        "-o", f"ProxyCommand={_proxy(instance_id)}",
        "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=accept-new",
        "-o", "IdentitiesOnly=yes", "-i", str(key), "-l", user, instance_id, *command,
    )  # fmt: skip


def _admin(sandbox: Any, payload: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        sandbox.endpoint + "/_sandbox/instance-connect",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_ssh_runs_a_remote_command_as_the_platforms_user(aws) -> None:  # type: ignore[no-untyped-def]
    web1, api1 = prod_instance("web-1"), prod_instance("api-1")
    done = _cli("ssh", "--profile", "prod", "web-1", "-o", "BatchMode=yes",
                'echo "$USER@$AWS_SSM_INSTANCE_ID in $(basename "$PWD")"; exit 7')  # fmt: skip
    assert done.returncode == 7, done.stderr
    assert done.stdout == f"ec2-user@{web1.instance_id} in {web1.instance_id}\n"
    done = _cli("ssh", "--profile", "prod", api1.instance_id, "-o", "BatchMode=yes", "echo $USER")
    assert (done.returncode, done.stdout) == (0, "ubuntu\n"), done.stderr
    ssm = aws("ssm")

    def sessions_ended() -> bool:
        active = ssm.describe_sessions(
            State="Active", Filters=[{"key": "Target", "value": web1.instance_id}]
        )["Sessions"]
        return not active

    wait_for(sessions_ended, what="the SSH sessions to be terminated")
    history = ssm.describe_sessions(
        State="History", Filters=[{"key": "Target", "value": web1.instance_id}]
    )["Sessions"]
    assert any(s["DocumentName"] == "AWS-StartSSHSession" for s in history)


@pytest.mark.slow
def test_ssh_config_makes_scp_and_sftp_copy_byte_exact(sandbox_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "ssm-tui.ssh_config"
    done = _cli("ssh-config", "--profile", "prod", "--write", str(config))
    assert done.returncode == 0, done.stderr
    assert f"Include {config}" in done.stderr
    text = config.read_text()
    assert "Host web-1 " in text and "Host [bold" not in text  # markup-like names: by id only
    payload = bytes(range(256)) * 2048 + os.urandom(300_000)
    digest = hashlib.sha256(payload).hexdigest()
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    base = ("-F", str(config), "-o", "BatchMode=yes")
    for name, argv in [
        ("scp (SFTP protocol) up", ("scp", "-q", *base, str(source), "web-1:up-sftp.bin")),
        ("scp -O (SCP protocol) up", ("scp", "-q", "-O", *base, str(source), "web-1:up-scp.bin")),
    ]:
        done = _tool(*argv)
        assert done.returncode == 0, (name, done.stderr)
    check = _tool("ssh", *base, "web-1", "sha256sum up-sftp.bin up-scp.bin")
    assert check.returncode == 0, check.stderr
    assert [line.split()[0] for line in check.stdout.splitlines()] == [digest, digest]
    down = tmp_path / "down-scp.bin"
    done = _tool("scp", "-q", *base, "web-1:up-sftp.bin", str(down))
    assert done.returncode == 0, done.stderr
    assert down.read_bytes() == payload
    batch = tmp_path / "batch"
    batch.write_text(f"put {source} via-sftp.bin\nget via-sftp.bin {tmp_path / 'down-sftp.bin'}\n")
    done = _tool("sftp", "-q", *base, "-b", str(batch), "web-1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "down-sftp.bin").read_bytes() == payload


@pytest.mark.slow
def test_only_pushed_keys_for_that_user_get_in(aws, sandbox_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    web1 = prod_instance("web-1")
    key = new_key(tmp_path / "id_ed25519")
    public = Path(f"{key}.pub").read_text().strip()
    known = tmp_path / "known_hosts"
    refused = _plain_ssh(key, "ec2-user", web1.instance_id, known, "true")
    assert refused.returncode == 255 and "Permission denied" in refused.stderr
    eic = aws("ec2-instance-connect")
    eic.send_ssh_public_key(
        InstanceId=web1.instance_id, InstanceOSUser="ec2-user", SSHPublicKey=public
    )
    allowed = _plain_ssh(key, "ec2-user", web1.instance_id, known, "echo in")
    assert (allowed.returncode, allowed.stdout) == (0, "in\n"), allowed.stderr
    other_user = _plain_ssh(key, "ssm-user", web1.instance_id, known, "true")
    assert other_user.returncode == 255 and "Permission denied" in other_user.stderr
    try:
        assert _admin(sandbox_env, {"key_lifetime": 1}) == {"key_lifetime": 1.0}
        eic.send_ssh_public_key(
            InstanceId=web1.instance_id, InstanceOSUser="ssm-user", SSHPublicKey=public
        )
        time.sleep(1.5)  # past the (shortened) lifetime of the push
        expired = _plain_ssh(key, "ssm-user", web1.instance_id, known, "true")
        assert expired.returncode == 255 and "Permission denied" in expired.stderr
    finally:
        _admin(sandbox_env, {"key_lifetime": 60})


def _rsa_public(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


@pytest.mark.parametrize(
    ("name", "change", "code"),
    [
        ("web-1", {"InstanceOSUser": "bad user!"}, "InvalidArgsException"),
        ("web-1", {"SSHPublicKey": "ssh-dss " + "A" * 100}, "InvalidArgsException"),
        ("web-1", {"SSHPublicKey": "ssh-ed25519 " + "!" * 100}, "InvalidArgsException"),
        ("web-1", {"rsa": 1024}, "InvalidArgsException"),
        ("web-1", {"AvailabilityZone": "eu-west-1a"}, "InvalidArgsException"),
        ("batch-worker", {}, "EC2InstanceStateInvalidException"),
        ("win-ad-01", {}, "EC2InstanceStateInvalidException"),
        ("web-1", {"InstanceId": "i-0123456789abcdef0"}, "EC2InstanceNotFoundException"),
    ],
)
def test_send_ssh_public_key_validations(aws, name: str, change: dict[str, Any], code: str) -> None:  # type: ignore[no-untyped-def]
    params = {
        "InstanceId": prod_instance(name).instance_id,
        "InstanceOSUser": "ec2-user",
        "SSHPublicKey": _rsa_public(change.pop("rsa", 2048)),
        **change,
    }
    with pytest.raises(ClientError) as error:
        aws("ec2-instance-connect").send_ssh_public_key(**params)
    assert error.value.response["Error"]["Code"] == code


def test_the_right_zone_and_an_rsa_key_are_accepted(aws) -> None:  # type: ignore[no-untyped-def]
    web1 = prod_instance("web-1")
    answer = aws("ec2-instance-connect").send_ssh_public_key(
        InstanceId=web1.instance_id,
        InstanceOSUser="ec2-user",
        SSHPublicKey=_rsa_public(2048),
        AvailabilityZone=web1.availability_zone,
    )
    assert answer["Success"] is True and answer["RequestId"]


@pytest.mark.slow
def test_ssh_refuses_what_it_cannot_reach(sandbox_env) -> None:  # type: ignore[no-untyped-def]
    windows = _cli("ssh", "--profile", "prod", "win-ad-01", "true")
    assert windows.returncode == 255 and "Windows instance" in windows.stderr
    missing = _cli("ssh", "--profile", "prod", "no-such-host", "true")
    assert missing.returncode == 255 and "no managed instance is named" in missing.stderr
    for done in (windows, missing):
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_cp_copies_both_ways_byte_exact(sandbox_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    payload = os.urandom(700_000) + bytes(range(256)) * 100
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    done = _cli("cp", "--profile", "prod", str(source), "api-1:copied.bin")
    assert done.returncode == 0, done.stderr
    check = _cli("ssh", "--profile", "prod", "api-1", "-o", "BatchMode=yes", "sha256sum copied.bin")
    assert check.stdout.split()[0] == hashlib.sha256(payload).hexdigest(), check.stderr
    back = tmp_path / "back.bin"
    done = _cli("cp", "--profile", "prod", "ubuntu@api-1:copied.bin", str(back))
    assert done.returncode == 0, done.stderr
    assert back.read_bytes() == payload
    neither = _cli("cp", "--profile", "prod", str(source), str(back))
    assert neither.returncode == 255 and "exactly one remote side" in neither.stderr
