"""EC2 GetPasswordData for the sandbox's Windows instances, and the key pair they launched with.

On AWS, EC2Launch sets a random Administrator password on a Windows instance's first boot and
hands EC2 that password encrypted with the public key of the instance's key pair (RSA, PKCS#1
v1.5, base64): GetPasswordData returns that blob to anyone allowed to call it, and only the holder
of the private key (the .pem CreateKeyPair gave out) can read it. The blob is stored once, so
every call returns the same text.

moto 5.2.5 (`moto/ec2/models/windows.py`) answers with 128 random letters for its own Windows
instances: nothing any key decrypts, and it knows none of the world's instances (they are not in
its EC2). The sandbox serves the call from the world's instances, as DescribeInstances is served
(`ec2_api.py`), and as strictly as EC2 and botocore's ec2 model:
- `InstanceId` is required (`MissingParameter`); a malformed id is `InvalidInstanceID.Malformed`,
  an id not in this account and region `InvalidInstanceID.NotFound` (the messages of EC2).
- A Windows instance answers with its encrypted password; any other instance (no key pair
  password, no EC2Launch) with an empty `passwordData`, as EC2 does for Linux.
- `Timestamp`: when the password was set (a few minutes after launch).

Every Windows EC2 instance of the seeded world was "launched with" one key pair, `KEY_NAME`
(DescribeInstances shows it as `KeyName`). Its private key is written once into the sandbox's
directory (PEM, as CreateKeyPair returns it; mode 0600) and reused when the directory is, and its
public key is imported into moto's key pairs of every account and region, so
DescribeKeyPairs lists it too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ssm_tui.sandbox.errors import Reply, error_reply
from ssm_tui.sandbox.world import Instance, World

KEY_NAME = "acme-windows"
KEY_FILE = f"{KEY_NAME}.pem"
PASSWORD_SET_AFTER = timedelta(minutes=4)
"""EC2Launch sets the password a few minutes after the instance starts."""
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789" + "!$%&*()=?@;."

_STATE: dict[str, Any] = {"key": None, "path": None}
_BLOBS: dict[str, str] = {}
_LOCK = threading.Lock()


def install(directory: Path) -> Path:
    """Load (or make, once) the seeded key pair's private key in `directory`; its path."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = directory / KEY_FILE
    key: Any = None
    if path.is_file():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,  # "BEGIN RSA PRIVATE KEY", as EC2's
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    with _LOCK:
        _STATE["key"], _STATE["path"] = key, path
        _BLOBS.clear()
    return path


def public_openssh() -> str:
    """The seeded key pair's public key as an OpenSSH line (what ImportKeyPair takes)."""
    from cryptography.hazmat.primitives import serialization

    key = _STATE["key"]
    assert key is not None, "windows_password.install() first"
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def import_into_moto(accounts: list[str], regions: list[str]) -> None:
    """The key pair in moto's EC2 of every account and region (DescribeKeyPairs shows it)."""
    from moto.ec2.models import ec2_backends

    material = public_openssh()
    for account_id in accounts:
        for region in regions:
            backend = ec2_backends[account_id][region]
            if KEY_NAME not in backend.key_pairs:
                backend.import_key_pair(KEY_NAME, material.encode(), {})


def has_key_pair(instance: Instance) -> bool:
    """Was this instance launched with the seeded key pair (DescribeInstances' KeyName)?"""
    return instance.is_ec2 and instance.platform_type == "Windows"


def administrator_password(instance: Instance) -> str:
    """The password EC2Launch set on this instance (stable for the instance: derived from its id).

    Tests compare what a client decrypts against this; nothing else in the sandbox reads it."""
    digest = hashlib.sha256(f"ec2launch:{instance.account_id}:{instance.instance_id}".encode())
    raw = digest.digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in raw[:24])


def password_data(instance: Instance) -> str:
    """The base64 blob GetPasswordData returns (empty without a key pair password)."""
    if not has_key_pair(instance):
        return ""
    from cryptography.hazmat.primitives.asymmetric import padding

    with _LOCK:
        blob = _BLOBS.get(instance.instance_id)
        if blob is None:
            key = _STATE["key"]
            if key is None:
                return ""
            sealed = key.public_key().encrypt(
                administrator_password(instance).encode(), padding.PKCS1v15()
            )
            blob = base64.b64encode(sealed).decode()
            _BLOBS[instance.instance_id] = blob
    return blob


def _bad(code: str, message: str) -> Reply:
    return error_reply("ec2", code, message, 400)


def get_password_data(world: World, account_id: str, region: str, body: bytes) -> Reply:
    """Answer one GetPasswordData query-protocol request."""
    import uuid

    params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    instance_id = params.get("InstanceId", [""])[0]
    if not instance_id:
        return _bad("MissingParameter", "The request must contain the parameter instanceId")
    if not instance_id.startswith("i-") or not all(
        c in "0123456789abcdef" for c in instance_id[2:]
    ):
        return _bad("InvalidInstanceID.Malformed", f'Invalid id: "{instance_id}"')
    instance = world.find(account_id, region, instance_id)
    if instance is None or not instance.is_ec2:
        return _bad("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
    if params.get("DryRun", ["false"])[0].lower() == "true":
        return _bad("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    launched = instance.launch_time or world.now
    stamp = (launched + PASSWORD_SET_AFTER).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<GetPasswordDataResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{uuid.uuid4()}</requestId>"
        f"<instanceId>{escape(instance.instance_id)}</instanceId>"
        f"<timestamp>{stamp}</timestamp>"
        f"<passwordData>{password_data(instance)}</passwordData>"
        "</GetPasswordDataResponse>"
    )
    return Reply(200, [(b"content-type", b"text/xml;charset=UTF-8")], text.encode())
