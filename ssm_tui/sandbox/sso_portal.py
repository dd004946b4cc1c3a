"""The IAM Identity Center portal API (`sso`): ListAccounts, ListAccountRoles, GetRoleCredentials.

The portal API is unsigned (the bearer token travels in `x-amz-sso_bearer_token`), so moto's
dispatcher cannot tell it apart and misroutes it; the front router sends these paths here.
The token is the one the sandbox writes into botocore's SSO token cache, so an `sso_session`
profile resolves exactly as botocore resolves it, with no browser; `seeded="expired"` or
`"absent"` starts the sandbox as a user whose login ran out (or who never logged in), and the
OIDC device flow (`sso_oidc.py`) issues tokens this portal accepts as well. Role credentials are
real STS credentials in moto, so every later call lands in the chosen account as that role.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

from ssm_tui.sandbox.errors import Reply, error_reply
from ssm_tui.sandbox.world import (
    ACCOUNT_EMAILS,
    ACCOUNTS,
    MANAGEMENT_ACCOUNT,
    SSO_REGION,
    SSO_ROLES,
    SSO_SESSION,
    SSO_START_URL,
    SSO_USER,
    sso_role_arn,
)

PORTAL_PATHS = frozenset(
    {"/assignment/accounts", "/assignment/roles", "/federation/credentials", "/logout"}
)
TOKEN_HEADER = "x-amz-sso_bearer_token"


def cache_file_name(sso_session: str = SSO_SESSION) -> str:
    """botocore keys the token cache by sha1 of the sso_session name (start URL in legacy form)."""
    return hashlib.sha1(sso_session.encode("utf-8")).hexdigest() + ".json"


SEEDED_STATES = ("valid", "expired", "absent")
"""The seeded sso-session login: valid 12 hours, expired an hour ago, or never written."""


def _new_token() -> str:
    return "aoa" + secrets.token_urlsafe(48)


@dataclass(slots=True)
class SsoPortal:
    token: str = field(default_factory=_new_token)
    valid: bool = True
    expires_at: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) + timedelta(hours=12)
    )
    seeded: str = "valid"
    issued: dict[str, datetime] = field(default_factory=dict)
    """Access tokens the OIDC service issued (`sso_oidc.py`), with their expiry."""

    def __post_init__(self) -> None:
        if self.seeded not in SEEDED_STATES:
            raise ValueError(f"seeded must be one of {', '.join(SEEDED_STATES)}")
        if self.seeded == "expired":
            self.expires_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        elif self.seeded == "absent":
            self.valid = False

    def issue(self, lifetime_seconds: int) -> str:
        """A new access token (a completed device login), valid `lifetime_seconds`."""
        token = _new_token()
        self.issued[token] = datetime.now(UTC) + timedelta(seconds=lifetime_seconds)
        return token

    def accepts(self, token: str | None) -> bool:
        """AWS checks a bearer token's expiry itself, whatever the client's cache says."""
        now = datetime.now(UTC)
        if token is not None and token == self.token:
            return self.valid and now < self.expires_at
        expiry = self.issued.get(token or "")
        return expiry is not None and now < expiry

    def token_cache_json(self) -> str:
        return json.dumps(
            {
                "startUrl": SSO_START_URL,
                "region": SSO_REGION,
                "accessToken": self.token,
                "expiresAt": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            indent=2,
        )

    def write_token(self, cache_dir: Path) -> Path | None:
        """Write the cached token; never overwrite a real user's token for another start URL.

        An `absent` login writes nothing (None), as for a user who never ran `aws sso login`.
        """
        if self.seeded == "absent":
            return None
        path = cache_dir / cache_file_name()
        try:
            if path.exists():
                existing = json.loads(path.read_text(encoding="utf-8"))
                if existing.get("startUrl") != SSO_START_URL:
                    return None
            cache_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(self.token_cache_json(), encoding="utf-8")
            path.chmod(0o600)
        except (OSError, ValueError):
            return None
        return path

    def remove_token(self, path: Path) -> None:
        """Remove a token file this portal wrote or a device login with it wrote, unless
        something else has replaced it since (its token is then not one of this portal's)."""
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
            if existing.get("accessToken") == self.token or existing.get("accessToken") in (
                self.issued
            ):
                path.unlink()
        except (OSError, ValueError):
            pass

    def handle(self, method: str, path: str, query: str, token: str | None) -> Reply:
        if not self.accepts(token):
            return error_reply(
                "rest-json", "UnauthorizedException", "Session token not found or invalid", 401
            )
        params = {key: values[0] for key, values in parse_qs(query).items()}
        if path == "/logout" and method == "POST":
            if token == self.token:
                self.valid = False
            self.issued.pop(token or "", None)
            return Reply(200, [(b"content-type", b"application/json")], b"")
        if method != "GET":
            return error_reply("rest-json", "InvalidRequestException", "Unsupported method", 400)
        if path == "/assignment/accounts":
            accounts = [
                {
                    "accountId": account_id,
                    "accountName": name,
                    "emailAddress": ACCOUNT_EMAILS[account_id],
                }
                for name, account_id in ACCOUNTS.items()
            ]
            return _json({"accountList": accounts})
        account_id = params.get("account_id", "")
        if account_id not in ACCOUNTS.values():
            return error_reply(
                "rest-json", "ResourceNotFoundException", "Account not assigned", 404
            )
        if path == "/assignment/roles":
            roles = [{"roleName": role, "accountId": account_id} for role in SSO_ROLES]
            return _json({"roleList": roles})
        role_name = params.get("role_name", "")
        if role_name not in SSO_ROLES:
            return error_reply("rest-json", "ForbiddenException", "No access to this role", 403)
        return _json({"roleCredentials": _role_credentials(account_id, role_name)})


def _role_credentials(account_id: str, role_name: str) -> dict[str, object]:
    from moto.sts.models import sts_backends

    role = sts_backends[MANAGEMENT_ACCOUNT]["aws"].assume_role(
        region_name=SSO_REGION,
        role_session_name=SSO_USER,
        role_arn=sso_role_arn(account_id, role_name),
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "accessKeyId": role.access_key_id,
        "secretAccessKey": role.secret_access_key,
        "sessionToken": role.session_token,
        "expiration": int(role.expiration.replace(tzinfo=UTC).timestamp() * 1000),
    }


def _json(payload: dict[str, object]) -> Reply:
    return Reply(200, [(b"content-type", b"application/json")], json.dumps(payload).encode())
