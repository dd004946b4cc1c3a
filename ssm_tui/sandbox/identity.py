"""Who is calling: the access key of a SigV4 request, mapped to an account, an ARN and a name.

Session ids (`<caller name>-<17 hex>`), DescribeSessions Owner, the denied set and the
broken-profile fault all depend on the caller, exactly as AWS derives them from the credentials:
an IAM user's name, or an assumed role's session name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
