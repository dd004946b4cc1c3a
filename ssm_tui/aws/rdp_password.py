"""The Administrator password of a Windows instance: EC2 GetPasswordData, decrypted here.

EC2 keeps the password EC2Launch set at first boot encrypted with the public key of the key pair
the instance was launched with (RSA, PKCS#1 v1.5, base64). Only that key pair's private key (the
.pem from CreateKeyPair, or the user's own key imported with ImportKeyPair) opens it, so the
decryption happens here, on the user's machine, as the console's "Get Windows password" does in
the browser; the key never leaves this process and the password is never logged.

Which key: `rdp_key` in the settings, for the instance (`[instances."i-..."]` or by Name), else
for its profile (`[profiles.NAME]`), else the top-level one; or a path the caller asks the user
for. Every way this can go wrong ends in an `RdpPasswordError` whose message says what to do: no
password yet, a missing or unreadable key file, a file that is not an RSA private key, a
passphrase needed, or a key that is not the instance's.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from ssm_tui.aws.exceptions import SsmTuiError


class RdpPasswordError(SsmTuiError):
    """The password cannot be shown: the message says why, the hint what to do."""


def key_path_for(settings: Any, instance_id: str, name: str, profile: str) -> Path | None:
    """The private key file the settings name for this instance (None: none configured)."""
    instances = getattr(settings, "instances", None) or {}
    for key in (instance_id, name):
        found = getattr(instances.get(key), "rdp_key", None) if key else None
        if found:
            return Path(found).expanduser()
    found = getattr((getattr(settings, "profiles", None) or {}).get(profile), "rdp_key", None)
    if found:
        return Path(found).expanduser()
    found = getattr(settings, "rdp_key", None)
    return Path(found).expanduser() if found else None


async def fetch_password_data(profile: str | None, region: str | None, instance_id: str) -> str:
    """GetPasswordData: the encrypted password, base64 ("" when the instance has none)."""
    from ssm_tui.aws import clients
    from ssm_tui.aws.errors import raise_for

    try:
        async with clients.client("ec2", profile, region) as ec2:
            answer = await ec2.get_password_data(InstanceId=instance_id)
    except Exception as exc:
        raise raise_for(exc, profile) from None
    return (answer.get("PasswordData") or "").strip()


def load_private_key(path: Path, passphrase: bytes | None = None) -> Any:
    """The RSA private key in `path` (PEM, PKCS#1 or PKCS#8, or an OpenSSH key file)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RdpPasswordError(
            f"no key file at {path}",
            "give the key pair's .pem (rdp_key in the settings, or --key)",
        ) from None
    except OSError as exc:
        raise RdpPasswordError(f"cannot read the key file {path}: {exc.strerror}") from None
    key: Any = None
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=passphrase)
        else:
            key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise RdpPasswordError(
            f"the key file {path} is protected by a passphrase",
            "decrypt a copy first: openssl rsa -in KEY -out KEY.plain",
        ) from None
    except (ValueError, binascii.Error):
        raise RdpPasswordError(
            f"{path} is not a private key file (PEM or OpenSSH)",
            "give the key pair's .pem, as CreateKeyPair returned it",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RdpPasswordError(
            f"{path} is not an RSA key: EC2 encrypts Windows passwords for RSA key pairs only",
            "launch the instance with an RSA key pair",
        )
    return key


def decrypt_password(password_data: str, key: Any, key_label: str = "the key") -> str:
    """The plain password from GetPasswordData's blob and the key pair's private key."""
    from cryptography.hazmat.primitives.asymmetric import padding

    if not password_data:
        raise RdpPasswordError(
            "the instance has no password data yet",
            "Windows sets it a few minutes after launch, for instances launched with a key pair",
        )
    try:
        sealed = base64.b64decode(password_data, validate=True)
    except (binascii.Error, ValueError):
        raise RdpPasswordError("the password data from EC2 is not base64") from None
    try:
        plain = key.decrypt(sealed, padding.PKCS1v15())
    except ValueError:
        # a key of another size, or PKCS#1 padding that does not check: not this instance's key
        raise RdpPasswordError(
            f"{key_label} does not decrypt this instance's password",
            "use the private key of the key pair the instance was launched with (its KeyName)",
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise RdpPasswordError(
            f"{key_label} does not decrypt this instance's password",
            "use the private key of the key pair the instance was launched with (its KeyName)",
        ) from None


async def administrator_password(
    profile: str | None, region: str | None, instance_id: str, key_file: Path
) -> str:
    """Fetch and decrypt in one step (the key is read first: a bad path fails before AWS)."""
    key = load_private_key(key_file)
    data = await fetch_password_data(profile, region, instance_id)
    return decrypt_password(data, key, str(key_file))
