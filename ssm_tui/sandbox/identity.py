"""Who is calling: the access key of a SigV4 request, mapped to an account, an ARN and a name.

Session ids (`<caller name>-<17 hex>`), DescribeSessions Owner, the denied set and the
broken-profile fault all depend on the caller, exactly as AWS derives them from the credentials:
an IAM user's name, or an assumed role's session name.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True, slots=True)
class Caller:
    account_id: str
    arn: str
    name: str
    """IAM user name, or the role session name of assumed-role credentials."""
    role_arn: str | None = None
    """The IAM role ARN for assumed-role credentials."""

    @property
    def role_name(self) -> str | None:
        return self.role_arn.rsplit("/", 1)[-1] if self.role_arn else None


@dataclass(frozen=True, slots=True)
class SignedScope:
    access_key: str
    region: str
    service: str


def signed_scope(
    authorization: str | None, query_credential: str | None = None
) -> SignedScope | None:
    """Access key, region and service of a SigV4 request (header or presigned query form)."""
    if authorization:
        match = _CREDENTIAL.search(authorization)
        if match:
            return SignedScope(match.group(1), match.group(2), match.group(3))
    if query_credential:
        parts = query_credential.split("/")
        if len(parts) >= 5:
            return SignedScope(parts[0], parts[2], parts[3])
    return None


_CACHE: dict[str, Caller] = {}


def resolve_caller(access_key: str) -> Caller | None:
    """The identity moto knows for an access key (IAM user key or STS credentials), else None.

    Cached per key: a key's identity never changes, and moto's lookups are linear scans.
    """
    cached = _CACHE.get(access_key)
    if cached is not None:
        return cached
    caller = _lookup(access_key)
    if caller is not None:
        _CACHE[access_key] = caller
    return caller


def _lookup(access_key: str) -> Caller | None:
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    account_id = get_account_id_from(access_key)
    sts = sts_backends[account_id]["aws"]
    role = sts.get_assumed_role_from_access_key(access_key)
    if role is not None:
        return Caller(role.account_id, role.arn, role.session_name, role.role_arn)
    user = iam_backends[account_id]["aws"].get_user_from_access_key_id(access_key)
    if user is not None:
        return Caller(user.account_id, user.arn, user.name)
    return None


# --- temporary credentials that outlive a restart --------------------------------------------
#
# AWS keeps honouring an AssumeRole (or SSO role) key until it expires, and aws-cli caches those
# keys in ~/.aws/cli/cache. moto forgets them when the sandbox stops, so a restarted sandbox
# answered the cached key with InvalidClientTokenId. Keys are therefore issued self-describing:
# the session token carries who they belong to and until when, with an HMAC keyed by the fleet
# seed; a key moto does not know is restored from its token when the MAC and the expiry hold. The
# secret key is derived from the access key id the same way, so it is the same after a restart.

_TOKEN_PREFIX = "SSMTUISBX1."
_SIGNING_KEY: bytes | None = None


def install_persistent_credentials(seed: int) -> None:
    """Make moto's AssumeRole issue self-describing credentials for this seed (idempotent)."""
    global _SIGNING_KEY
    from moto.sts.models import STSBackend

    _SIGNING_KEY = hashlib.sha256(f"ssm-tui-sandbox-sts:{seed}".encode()).digest()
    original = getattr(STSBackend.assume_role, "__wrapped__", STSBackend.assume_role)

    @functools.wraps(original)
    def assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role = original(self, *args, **kwargs)
        secret = _derived_secret(role.access_key_id)
        role.access_key.secret_access_key = secret
        role.secret_access_key = secret
        role.session_token = _issue_token(role)
        return role

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


def _mac(payload: bytes) -> str:
    assert _SIGNING_KEY is not None
    digest = hmac.new(_SIGNING_KEY, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _derived_secret(access_key_id: str) -> str:
    return _mac(b"secret:" + access_key_id.encode())[:40]


def _issue_token(role: Any) -> str:
    expiration: datetime = role.expiration
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)  # moto's utcnow() is naive UTC
    body = {
        "k": role.access_key_id,
        "a": role.account_id,
        "r": role.role_arn,
        "s": role.session_name,
        "g": role.region_name,
        "e": int(expiration.timestamp()),
    }
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    return _TOKEN_PREFIX + payload.decode().rstrip("=") + "." + _mac(payload.rstrip(b"="))


def restore_from_token(access_key: str, session_token: str | None) -> Caller | None:
    """Re-register a key this seed issued before a restart (None if the token does not prove it)."""
    if _SIGNING_KEY is None or not session_token or not session_token.startswith(_TOKEN_PREFIX):
        return None
    try:
        payload, mac = session_token[len(_TOKEN_PREFIX) :].rsplit(".", 1)
        if not hmac.compare_digest(mac, _mac(payload.encode())):
            return None
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if body["k"] != access_key or int(body["e"]) <= time.time():
            return None  # another key's token, or expired: AWS says ExpiredToken / invalid
        _register(body, session_token)
    except (ValueError, KeyError, TypeError):
        return None
    _CACHE.pop(access_key, None)
    return resolve_caller(access_key)


def _register(body: dict[str, Any], session_token: str) -> None:
    from moto.iam.models import AccessKey, iam_backends
    from moto.sts.models import AssumedRole, sts_backends

    account_id, access_key_id = str(body["a"]), str(body["k"])
    iam = iam_backends[account_id]["aws"]
    if access_key_id in iam.access_keys:
        return
    key = AccessKey(user_name=None, prefix="ASIA", account_id=account_id)
    key.access_key_id = access_key_id
    key.secret_access_key = _derived_secret(access_key_id)
    key.role_arn = str(body["r"])
    iam.access_keys[access_key_id] = key
    remaining = max(1, int(body["e"]) - int(time.time()))
    role = AssumedRole(
        account_id=account_id,
        region_name=str(body.get("g") or "us-east-1"),
        access_key=key,
        role_session_name=str(body["s"]),
        role_arn=str(body["r"]),
        policy="",
        duration=remaining,
        external_id="",
    )
    role.session_token = session_token
    sts_backends[account_id]["aws"].assumed_roles.append(role)
