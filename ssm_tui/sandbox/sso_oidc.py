"""IAM Identity Center OIDC (`sso-oidc`): the device authorization flow `aws sso login` runs.

moto has no `sso-oidc` at all (its unsigned `POST /client/register`, `/device_authorization` and
`/token` fall through to S3 and crash), so the front router sends those paths here. The shapes,
error codes and HTTP statuses follow botocore's model (`botocore/data/sso-oidc/2019-06-10`), the
polling rules RFC 8628 (section 3.5), which the service implements:

- RegisterClient: a `public` client, scopes from the ones the sandbox knows, secret valid 90 days.
- StartDeviceAuthorization: for the sandbox's start URL only; a device code valid `expiresIn`
  seconds (600, as AWS), a user code `XXXX-XXXX`, a polling `interval` (1 s, as AWS).
- CreateToken with `urn:ietf:params:oauth:grant-type:device_code`: AuthorizationPendingException
  until the user approves, SlowDownException when polled sooner than the interval (which then
  grows by 5 s for that code, as the RFC says), ExpiredTokenException once `expiresIn` passed,
  AccessDeniedException if the user denied, InvalidGrantException for a code used once already.
  With `refresh_token` (what botocore's `SSOTokenProvider` sends near expiry): a new token.

Approval happens where a person would give it: the verification page this module serves at the
`verificationUriComplete` it returned (`GET /device?user_code=...`). The sandbox's user is always
signed in, so opening that URL is the "Allow" click; `&action=deny` is the "Deny" one. The access
token it then issues is one the SSO portal (`sso_portal.py`) accepts, so GetRoleCredentials,
ListAccounts and ListAccountRoles work with it exactly as with the seeded one.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote

from ssm_tui.sandbox.errors import Reply
from ssm_tui.sandbox.sso_portal import SsoPortal
from ssm_tui.sandbox.world import SSO_REGION, SSO_SESSION, SSO_START_URL, SSO_USER

OIDC_PATHS = frozenset({"/client/register", "/device_authorization", "/token"})
VERIFICATION_PATH = "/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_GRANT = "refresh_token"
KNOWN_SCOPES = frozenset({"sso:account:access"})
"""The scopes an sso-session registers (`sso_registration_scopes`); AWS rejects unknown ones."""
KNOWN_GRANTS = frozenset({DEVICE_GRANT, REFRESH_GRANT, "authorization_code"})
CLIENT_SECRET_DAYS = 90
SLOW_DOWN_STEP = 5
"""RFC 8628 §3.5: after slow_down the interval grows by 5 s for this and every later request."""
POLL_TOLERANCE = 0.05
"""Seconds of clock jitter forgiven between two polls (a client sleeping exactly `interval`)."""
USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
"""Consonants only: no word, no 0/O or 1/I to confuse when typed from another screen."""
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"


@dataclass(slots=True)
class Timing:
    """What a test may shorten (`POST /_sandbox/sso`); the defaults are AWS's."""

    device_code_ttl: float = 600.0
    interval: int = 1
    token_ttl: int = 3600

    def update(self, changes: dict[str, object]) -> None:
        for key, value in changes.items():
            if key not in ("device_code_ttl", "interval", "token_ttl"):
                raise ValueError(f"unknown setting {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number")
            setattr(self, key, float(value) if key == "device_code_ttl" else int(value))

    def as_dict(self) -> dict[str, float]:
        return {
            "device_code_ttl": self.device_code_ttl,
            "interval": self.interval,
            "token_ttl": self.token_ttl,
        }


@dataclass(slots=True)
class Client:
    client_id: str
    secret: str
    name: str
    scopes: tuple[str, ...]
    secret_expires_at: float
    """Wall clock (epoch seconds), as RegisterClient reports it."""


@dataclass(slots=True)
class Authorization:
    device_code: str
    user_code: str
    client_id: str
    expires_at: float
    """`time.monotonic()` deadline."""
    interval: int
    state: str = "pending"  # pending | approved | denied | exchanged
    last_poll: float | None = None


class OidcError(Exception):
    """One modelled error: its shape name, the OAuth `error` word, and its HTTP status."""

    def __init__(self, code: str, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.error = error
        self.description = description
        self.status = status


@dataclass(slots=True)
class DeviceAuthority:
    """The OIDC service and its verification page, for one sandbox process."""

    portal: SsoPortal
    endpoint: str
    """The sandbox's base URL: the verification page is under it."""
    timing: Timing = field(default_factory=Timing)
    clients: dict[str, Client] = field(default_factory=dict)
    by_device_code: dict[str, Authorization] = field(default_factory=dict)
    by_user_code: dict[str, Authorization] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """refresh token -> the client it was issued to."""

    # -- the API ---------------------------------------------------------------------------
    def handle(self, path: str, body: bytes) -> Reply:
        try:
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError:
            return _error(OidcError("InvalidRequestException", "invalid_request", "Bad JSON"))
        try:
            if path == "/client/register":
                return _json(self.register_client(params))
            if path == "/device_authorization":
                return _json(self.start_device_authorization(params))
            return _json(self.create_token(params))
        except OidcError as error:
            return _error(error)

    def register_client(self, params: dict[str, object]) -> dict[str, object]:
        name = params.get("clientName")
        if not isinstance(name, str) or not name:
            raise OidcError("InvalidRequestException", "invalid_request", "clientName is required")
        if params.get("clientType") != "public":
            raise OidcError(
                "InvalidClientMetadataException",
                "invalid_client_metadata",
                "clientType must be public",
            )
        scopes = params.get("scopes") or []
        if not isinstance(scopes, list) or any(s not in KNOWN_SCOPES for s in scopes):
            raise OidcError("InvalidScopeException", "invalid_scope", "Invalid scope requested")
        grants = params.get("grantTypes") or []
        if not isinstance(grants, list) or any(g not in KNOWN_GRANTS for g in grants):
            raise OidcError(
                "UnsupportedGrantTypeException", "unsupported_grant_type", "Invalid grant type"
            )
        now = time.time()
        client = Client(
            client_id=secrets.token_urlsafe(16),
            secret=secrets.token_urlsafe(96),
            name=name,
            scopes=tuple(str(s) for s in scopes),
            secret_expires_at=now + CLIENT_SECRET_DAYS * 86400,
        )
        self.clients[client.client_id] = client
        return {
            "clientId": client.client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": int(now),
            "clientSecretExpiresAt": int(client.secret_expires_at),
        }

    def start_device_authorization(self, params: dict[str, object]) -> dict[str, object]:
        client = self._client(params)
        if params.get("startUrl") != SSO_START_URL:
            raise OidcError("InvalidRequestException", "invalid_request", "Invalid start URL")
        user_code = self._new_user_code()
        authorization = Authorization(
            device_code=secrets.token_urlsafe(64),
            user_code=user_code,
            client_id=client.client_id,
            expires_at=time.monotonic() + self.timing.device_code_ttl,
            interval=self.timing.interval,
        )
        self.by_device_code[authorization.device_code] = authorization
        self.by_user_code[user_code] = authorization
        uri = self.endpoint + VERIFICATION_PATH
        return {
            "deviceCode": authorization.device_code,
            "userCode": user_code,
            "verificationUri": uri,
            "verificationUriComplete": f"{uri}?user_code={quote(user_code)}",
            "expiresIn": max(1, round(self.timing.device_code_ttl)),
            "interval": authorization.interval,
        }

    def create_token(self, params: dict[str, object]) -> dict[str, object]:
        grant = params.get("grantType")
        if grant not in (DEVICE_GRANT, REFRESH_GRANT):
            raise OidcError(
                "UnsupportedGrantTypeException", "unsupported_grant_type", "Invalid grant type"
            )
        client = self._client(params)
        if grant == REFRESH_GRANT:
            return self._refresh(client, params.get("refreshToken"))
        device_code = params.get("deviceCode")
        if not isinstance(device_code, str) or not device_code:
            raise OidcError("InvalidRequestException", "invalid_request", "deviceCode is required")
        authorization = self.by_device_code.get(device_code)
        if authorization is None or authorization.client_id != client.client_id:
            raise OidcError("InvalidGrantException", "invalid_grant", "Invalid grant provided")
        if authorization.state == "exchanged":
            raise OidcError("InvalidGrantException", "invalid_grant", "Device code already used")
        now = time.monotonic()
        if now >= authorization.expires_at:
            self._drop(authorization)
            raise OidcError("ExpiredTokenException", "expired_token", "Device code has expired")
        if authorization.state == "denied":
            self._drop(authorization)
            raise OidcError("AccessDeniedException", "access_denied", "User denied the request")
        last, authorization.last_poll = authorization.last_poll, now
        if last is not None and now - last < authorization.interval - POLL_TOLERANCE:
            authorization.interval += SLOW_DOWN_STEP
            raise OidcError("SlowDownException", "slow_down", "Client is polling too fast")
        if authorization.state == "pending":
            raise OidcError(
                "AuthorizationPendingException",
                "authorization_pending",
                "Authorization is still pending",
            )
        authorization.state = "exchanged"
        self.by_user_code.pop(authorization.user_code, None)
        return self._token(client)

    # -- the verification page -------------------------------------------------------------
    def verification_page(self, query: str) -> Reply:
        """What the browser shows at `verificationUri[Complete]`; opening it with a code approves.

        Without a code: a form asking for one (a GET form, so submitting it is the same URL).
        """
        params = {key: values[0] for key, values in parse_qs(query).items()}
        typed = params.get("user_code", "")
        if not typed:
            return _page(
                200,
                "Authorize request",
                "<p>Enter the code shown by the application.</p>"
                f'<form method="get" action="{VERIFICATION_PATH}">'
                '<input name="user_code" autocomplete="off" autofocus>'
                '<button type="submit">Next</button></form>',
            )
        code = typed.strip().upper().replace(" ", "")
        if len(code) == 8 and "-" not in code:
            code = f"{code[:4]}-{code[4:]}"
        authorization = self.by_user_code.get(code)
        if authorization is None or time.monotonic() >= authorization.expires_at:
            return _page(
                400,
                "Invalid code",
                f"<p>The code {html.escape(typed)} is not valid or has expired. "
                "Start the login again from the application.</p>",
            )
        client = self.clients.get(authorization.client_id)
        app_name = html.escape(client.name if client else "the application")
        if params.get("action") == "deny":
            authorization.state = "denied"
            return _page(200, "Request denied", f"<p>{app_name} was not given access.</p>")
        if authorization.state == "pending":
            authorization.state = "approved"
        return _page(
            200,
            "Request approved",
            f"<p>{html.escape(SSO_USER)}, {app_name} now has access (code {html.escape(code)}). "
            "You can close this window and return to the application.</p>",
        )

    def remove_registrations(self, folder: Path) -> None:
        """Remove the client registration a device login cached in `folder` for this sandbox
        (aws-cli v2's key: sha1 of tool, start URL, region, scopes, session), if it is one this
        sandbox issued: it must not outlive the sandbox in a user's SSO cache."""
        for scopes in (sorted(KNOWN_SCOPES), None):
            args = {
                "tool": "botocore",
                "startUrl": SSO_START_URL,
                "region": SSO_REGION,
                "scopes": scopes,
                "session_name": SSO_SESSION,
            }
            key = hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()
            path = folder / f"{key}.json"
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("clientId") in self.clients:
                    path.unlink()
            except (OSError, ValueError, AttributeError):
                pass

    # -- internals -------------------------------------------------------------------------
    def _client(self, params: dict[str, object]) -> Client:
        client = self.clients.get(str(params.get("clientId", "")))
        if client is None or not secrets.compare_digest(
            client.secret, str(params.get("clientSecret", ""))
        ):
            raise OidcError("InvalidClientException", "invalid_client", "Invalid client", 401)
        if time.time() >= client.secret_expires_at:
            raise OidcError(
                "InvalidClientException", "invalid_client", "Client secret expired", 401
            )
        return client

    def _new_user_code(self) -> str:
        while True:
            letters = "".join(secrets.choice(USER_CODE_LETTERS) for _ in range(8))
            code = f"{letters[:4]}-{letters[4:]}"
            if code not in self.by_user_code:
                return code

    def _drop(self, authorization: Authorization) -> None:
        self.by_device_code.pop(authorization.device_code, None)
        self.by_user_code.pop(authorization.user_code, None)

    def _token(self, client: Client) -> dict[str, object]:
        access_token = self.portal.issue(self.timing.token_ttl)
        reply: dict[str, object] = {
            "accessToken": access_token,
            "tokenType": "Bearer",
            "expiresIn": self.timing.token_ttl,
        }
        if "sso:account:access" in client.scopes:  # an sso-session registration: refreshable
            refresh_token = "aor" + secrets.token_urlsafe(64)
            self.refresh_tokens[refresh_token] = client.client_id
            reply["refreshToken"] = refresh_token
        return reply

    def _refresh(self, client: Client, refresh_token: object) -> dict[str, object]:
        if not isinstance(refresh_token, str) or not refresh_token:
            raise OidcError("InvalidRequestException", "invalid_request", "refreshToken required")
        if self.refresh_tokens.get(refresh_token) != client.client_id:
            raise OidcError("InvalidGrantException", "invalid_grant", "Invalid refresh token")
        del self.refresh_tokens[refresh_token]  # rotated: each refresh token works once
        return self._token(client)


def _json(payload: dict[str, object]) -> Reply:
    return Reply(200, [(b"content-type", b"application/json")], json.dumps(payload).encode())


def _error(error: OidcError) -> Reply:
    body = json.dumps({"error": error.error, "error_description": error.description}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", f"{error.code}:{ERROR_NAMESPACE}".encode()),
        (b"x-amzn-requestid", secrets.token_hex(16).encode()),
    ]
    return Reply(error.status, headers, body)


def _page(status: int, title: str, body: str) -> Reply:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · AWS access portal (ssm-tui sandbox)</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Reply(status, [(b"content-type", b"text/html; charset=utf-8")], text.encode())
