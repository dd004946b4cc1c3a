"""The Windows Administrator password: EC2 GetPasswordData through the sandbox, decrypted here.

The sandbox's Windows instances were launched with its seeded key pair (`acme-windows`, private
key in the sandbox's directory): GetPasswordData returns the password encrypted for that key
(RSA PKCS#1 v1.5, base64), an empty one for Linux, and EC2's errors for ids it does not know.
`ssm-tui rdp --password` decrypts it with the key named by `--key` or the settings, and a wrong
or missing key gives a message saying so, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ssm_tui.aws.rdp_password import (
    RdpPasswordError,
    administrator_password,
    decrypt_password,
    load_private_key,
)
from ssm_tui.sandbox import windows_password
from tests.run16.conftest import prod_instance, wait_no_active
from tests.run16.test_rdp import _confirm


def _seeded_key(sandbox: Any) -> Path:
    return Path(sandbox.directory) / windows_password.KEY_FILE


def _other_rsa_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def test_the_sandbox_encrypts_the_password_for_the_seeded_key_pair(
    aws: Any, sandbox_env: Any
) -> None:
    win = prod_instance("win-ad-01")
    ec2 = aws("ec2")
    described = ec2.describe_instances(InstanceIds=[win.instance_id])
    assert described["Reservations"][0]["Instances"][0]["KeyName"] == windows_password.KEY_NAME
    pairs = ec2.describe_key_pairs()["KeyPairs"]
    assert windows_password.KEY_NAME in {p["KeyName"] for p in pairs}
    first = ec2.get_password_data(InstanceId=win.instance_id)
    again = ec2.get_password_data(InstanceId=win.instance_id)
    assert first["InstanceId"] == win.instance_id
    assert first["PasswordData"] and first["PasswordData"] == again["PasswordData"]  # stored once
    key = load_private_key(_seeded_key(sandbox_env))
    assert decrypt_password(first["PasswordData"], key) == windows_password.administrator_password(
        win
    )


def test_a_linux_instance_has_no_password_and_unknown_ids_are_refused(aws: Any) -> None:
    ec2 = aws("ec2")
    linux = ec2.get_password_data(InstanceId=prod_instance("web-1").instance_id)
    assert linux["PasswordData"] == ""
    with pytest.raises(ClientError) as missing:
        ec2.get_password_data(InstanceId="i-0123456789abcdef0")
    assert missing.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert "i-0123456789abcdef0" in missing.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as malformed:
        ec2.get_password_data(InstanceId="web-1")
    assert malformed.value.response["Error"]["Code"] == "InvalidInstanceID.Malformed"
    dev_win = next(  # the sandbox's dev account has Windows instances too (dev-win-1)
        i for i in windows_password_instances() if i.account_id != prod_instance("web-1").account_id
    )
    with pytest.raises(ClientError) as elsewhere:  # another account's instance does not exist
        ec2.get_password_data(InstanceId=dev_win.instance_id)
    assert elsewhere.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def windows_password_instances() -> list[Any]:
    from tests.run16.conftest import WORLD

    return [i for i in WORLD.instances if i.is_ec2 and i.platform_type == "Windows"]


def test_the_client_module_decrypts_and_names_a_wrong_key(sandbox_env: Any, tmp_path: Path) -> None:
    win = prod_instance("win-ad-01")
    got = asyncio.run(
        administrator_password("prod", win.region, win.instance_id, _seeded_key(sandbox_env))
    )
    assert got == windows_password.administrator_password(win)
    other = _other_rsa_key(tmp_path / "other.pem")
    with pytest.raises(RdpPasswordError) as wrong:
        asyncio.run(administrator_password("prod", win.region, win.instance_id, other))
    assert "does not decrypt this instance's password" in wrong.value.message
    with pytest.raises(RdpPasswordError) as absent:
        asyncio.run(
            administrator_password("prod", win.region, win.instance_id, tmp_path / "nope.pem")
        )
    assert absent.value.message == f"no key file at {tmp_path / 'nope.pem'}"
    with pytest.raises(RdpPasswordError) as linux:
        web1 = prod_instance("web-1")
        asyncio.run(
            administrator_password("prod", web1.region, web1.instance_id, _seeded_key(sandbox_env))
        )
    assert "no password data" in linux.value.message


def test_keys_that_are_not_rsa_private_keys_are_named(tmp_path: Path) -> None:
    edwards = tmp_path / "id_ed25519"
    edwards.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(RdpPasswordError) as not_rsa:
        load_private_key(edwards)
    assert "is not an RSA key" in not_rsa.value.message
    text = tmp_path / "notes.txt"
    text.write_text("not a key\n")
    with pytest.raises(RdpPasswordError) as not_key:
        load_private_key(text)
    assert "is not a private key file" in not_key.value.message


def _settings(home: Path, text: str) -> None:
    path = home / ".config" / "ssm-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_rdp_password_prints_it_with_the_key_from_the_settings_and_forwards_3389(
    aws: Any, sandbox_env: Any, clean_aws_env: Path
) -> None:
    win = prod_instance("win-ad-01")
    _settings(clean_aws_env, f'[instances."win-ad-01"]\nrdp_key = "{_seeded_key(sandbox_env)}"\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod",
         "--password"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = int(re.search(r"on 127\.0\.0\.1:(\d+) as Administrator", first).group(1))  # type: ignore[union-attr]
        assert process.stdout.readline() == (
            f"  password: {windows_password.administrator_password(win)}\n"
        )
        answer = _confirm(port)  # a TCP client on the forwarded 3389 gets the X.224 confirm
        assert answer[:2] == b"\x03\x00" and answer[5] == 0xD0, answer
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
    assert code == 0, process.stderr.read() if process.stderr else ""
    ssm = aws("ssm")
    wait_no_active(ssm, win.instance_id, "the RDP forward's session to end")


def test_rdp_password_with_a_wrong_or_missing_key_says_so(sandbox_env: Any, tmp_path: Path) -> None:
    other = _other_rsa_key(tmp_path / "other.pem")
    for key, expected in (
        (other, "does not decrypt this instance's password"),
        (tmp_path / "gone.pem", f"no key file at {tmp_path / 'gone.pem'}"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod",
             "--password", "--key", str(key)],
            capture_output=True, text=True, env=dict(os.environ), timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 255, done.stderr
        assert expected in done.stderr and "Traceback" not in done.stderr
        assert "password:" not in done.stdout
    unset = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod",
         "--password"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert unset.returncode == 255
    assert "no private key for this instance's password" in unset.stderr
    assert "rdp_key" in unset.stderr


def test_rdp_copy_gives_the_password_to_the_clipboard_tool_not_the_screen(
    aws: Any, sandbox_env: Any, tmp_path: Path
) -> None:
    """`--copy`: the password goes to the desktop's clipboard tool on its stdin (here a stand-in
    for xclip that keeps what it was given), and is not printed."""
    win = prod_instance("win-ad-01")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kept = tmp_path / "clipboard.txt"
    tool = bin_dir / "xclip"
    tool.write_text(f"#!/bin/sh\ncat > {kept}\n")
    tool.chmod(0o755)
    env = dict(os.environ, DISPLAY=":0", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.pop("WAYLAND_DISPLAY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "rdp", "win-ad-01", "--profile", "prod",
         "--copy", "--key", str(_seeded_key(sandbox_env))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "as Administrator" in process.stdout.readline()
        assert process.stdout.readline() == "  password copied to the clipboard (xclip)\n"
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
    assert code == 0
    password = windows_password.administrator_password(win)
    assert kept.read_text() == password
    rest = process.stdout.read() if process.stdout else ""
    assert password not in rest
