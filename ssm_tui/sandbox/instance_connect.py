"""EC2 Instance Connect's SendSSHPublicKey for the sandbox, and the keys it pushed.

moto has the service, but its backend answers `Success: true` to anything without remembering the
key, so nothing could ever log in with it. Here the front router answers the call itself, with
the real API's checks (botocore's model `ec2-instance-connect/2018-04-02`: the id, OS user and
Availability Zone patterns; and what the service refuses: an unknown or stopped instance, an AZ
that is not the instance's, a key that is not an OpenSSH RSA (2048 bits or more), ED25519 or
ECDSA public key), and remembers each key for its OS user on that instance for 60 seconds, as
the instance's `eic_run_authorized_keys` hook honours it. The sandbox's sshd (`sandbox/sshd.py`)
asks `valid_keys` at each login.

The lifetime can be shortened at run time (`POST /_sandbox/instance-connect
{"key_lifetime": 1}`) so a test of an expired key needs no minute of waiting.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import threading
import time
import uuid
from typing import Any

from ssm_tui.sandbox.world import World

KEY_LIFETIME = 60.0
"""Seconds a pushed key is accepted (EC2 Instance Connect's documented 60 s)."""

TARGET_PREFIX = "AWSEC2InstanceConnectService."

_INSTANCE_ID = re.compile(r"^i-[a-f0-9]+$")
_OS_USER = re.compile(
    r"(^[A-Za-z_][A-Za-z0-9\@\._-]{0,30}[A-Za-z0-9\$_-]?$)"
    r"|(^(?=.{2,32}$)[0-9]{1,32}[A-Za-z\@\._-][A-Za-z0-9\@\._-]*[A-Za-z0-9\$_-]?$)"
)
_AZ = re.compile(r"^(\w+-){2,3}\d+\w+$")
_KEY_TYPES = {
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
}


class ConnectError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class PushedKeys:
    """(instance id, OS user) -> [(key blob, expiry on the monotonic clock)]. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], list[tuple[bytes, float]]] = {}
        self.lifetime = KEY_LIFETIME

    def push(self, instance_id: str, user: str, blob: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            kept = [(b, t) for b, t in self._keys.get((instance_id, user), []) if t > now]
            kept.append((blob, now + self.lifetime))
            self._keys[(instance_id, user)] = kept

    def valid_keys(self, instance_id: str, user: str) -> list[bytes]:
        now = time.monotonic()
        with self._lock:
            return [b for b, t in self._keys.get((instance_id, user), []) if t > now]


KEYS = PushedKeys()
_WORLD: World | None = None


def install(world: World) -> None:
    global _WORLD
    _WORLD = world


def key_blob(text: str) -> bytes:
    """The wire-format blob of an OpenSSH public key line, checked as the service checks it."""
    fields = text.strip().split()
    if len(fields) < 2 or fields[0] not in _KEY_TYPES:
        raise ConnectError(
            "InvalidArgsException",
            "Unsupported key type. Supported: ssh-rsa, ssh-ed25519, ecdsa-sha2-nistp256/384/521 "
            "in OpenSSH format.",
        )
    try:
        blob = base64.b64decode(fields[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        kind = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise ConnectError("InvalidArgsException", "Invalid SSH public key.") from None
    if kind != fields[0]:
        raise ConnectError("InvalidArgsException", "Invalid SSH public key.")
    if kind == "ssh-rsa" and _rsa_bits(blob) < 2048:
        raise ConnectError("InvalidArgsException", "RSA keys must be at least 2048 bits.")
    return blob


def _rsa_bits(blob: bytes) -> int:
    offset = 0
    parts: list[bytes] = []
    for _ in range(3):  # type, e, n
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        parts.append(blob[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return int.from_bytes(parts[2], "big").bit_length()


def send_ssh_public_key(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    instance_id = str(params.get("InstanceId") or "")
    user = str(params.get("InstanceOSUser") or "")
    key = str(params.get("SSHPublicKey") or "")
    zone = params.get("AvailabilityZone")
    if not _INSTANCE_ID.match(instance_id):
        raise ConnectError("InvalidArgsException", f"Invalid instance id: {instance_id}")
    if not _OS_USER.match(user):
        raise ConnectError("InvalidArgsException", f"Invalid OS user: {user}")
    if zone is not None and not _AZ.match(str(zone)):
        raise ConnectError("InvalidArgsException", f"Invalid availability zone: {zone}")
    blob = key_blob(key)
    assert _WORLD is not None
    instance = _WORLD.find(account, region, instance_id)
    if instance is None:
        raise ConnectError(
            "EC2InstanceNotFoundException", f"Instance {instance_id} not found.", 404
        )
    if zone is not None and zone != instance.availability_zone:
        raise ConnectError(
            "InvalidArgsException",
            f"Instance {instance_id} is not in availability zone {zone}.",
        )
    if instance.ec2_state != "running":
        raise ConnectError(
            "EC2InstanceStateInvalidException",
            "Unable to connect to instance: the instance is not in a running state.",
        )
    if instance.platform_type == "Windows":
        raise ConnectError(
            "EC2InstanceStateInvalidException",
            "EC2 Instance Connect is not supported on Windows instances.",
        )
    KEYS.push(instance_id, user, blob)
    return {"RequestId": str(uuid.uuid4()), "Success": True}


def handle(operation: str, body: bytes, account: str, region: str) -> tuple[int, str]:
    """One ec2-instance-connect call for the front router: (HTTP status, awsJson body)."""
    try:
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise ValueError(body)
    except ValueError:
        return 400, json.dumps({"__type": "SerializationException", "message": "Bad JSON."})
    if operation != "SendSSHPublicKey":
        return 400, json.dumps(
            {"__type": "UnknownOperationException", "message": f"Unknown operation {operation}"}
        )
    try:
        return 200, json.dumps(send_ssh_public_key(params, account, region))
    except ConnectError as error:
        return error.status, json.dumps({"__type": error.code, "Message": error.message})


def admin(changes: dict[str, Any] | None) -> dict[str, Any]:
    """GET/POST /_sandbox/instance-connect: read or set `key_lifetime` (seconds, > 0)."""
    if changes:
        unknown = set(changes) - {"key_lifetime"}
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        value = changes.get("key_lifetime")
        seconds = KEY_LIFETIME if value is None else float(value)
        if seconds <= 0:
            raise ValueError("key_lifetime must be > 0")
        KEYS.lifetime = seconds
    return {"key_lifetime": KEYS.lifetime}
