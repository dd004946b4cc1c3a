"""How the data-channel websocket is dialled: TLS trust, proxy and SigV4, as the API calls do it.

Enterprise networks put a TLS-inspecting proxy in front of AWS and give every tool its CA
(aws/session-manager-plugin#68, aws/aws-cli#9282): the websocket must honour what botocore honours
for the API calls of the same profile:
- trust: `AWS_CA_BUNDLE`, else the profile's `ca_bundle`, else the system trust store;
- proxy: `HTTPS_PROXY` (wss) / `HTTP_PROXY` (ws) and `NO_PROXY` from the environment, never for
  `localhost` or a loopback address (as Go's dialer in the official plugin);
- SigV4: plugins >= 1.2.688.0 sign the upgrade (service `ssmmessages`, the session's region)
  unless the StreamUrl is presigned, and only log a signing failure
  (`src/communicator/websocketchannel.go`). We sign `wss://` upgrades by default: reading the
  profile's `ca_bundle` loads botocore anyway, so the signature costs only the credentials.
  A `ws://` StreamUrl (the sandbox) is signed only with `SSM_TUI_SIGN_WEBSOCKET=1`, which would
  otherwise add botocore's import (~0.5 s) before the first byte; `=0` turns signing off.

`socket_options(url, profile, region)` returns keyword arguments for `websockets.connect`. Nothing
here raises for a signing or config problem: the dial goes ahead and reports its own failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

SERVICE = "ssmmessages"
SIGN_ENV = "SSM_TUI_SIGN_WEBSOCKET"
RESOLVE_TIMEOUT = 5.0
"""Credentials and config for the dial: never wait longer (a hung credential_process)."""
PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_presigned(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return any(name in query for name in PRESIGN_PARAMS)


def want_signature(url: str) -> bool:
    setting = os.environ.get(SIGN_ENV, "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if is_presigned(url):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    return url.lower().startswith("wss://")


class DialSettingsError(Exception):
    """The websocket cannot be dialled as configured (e.g. a CA bundle that cannot be read)."""


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system trust store, or only the given bundle (as botocore's `verify=<path>`)."""
    if not ca_bundle:
        return ssl.create_default_context()
    path = os.path.expanduser(ca_bundle)
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise DialSettingsError(
            f"cannot use the CA bundle {path} (AWS_CA_BUNDLE or the profile's ca_bundle): "
            f"{exc.strerror or exc}"
        ) from None


def signed_headers(url: str, region: str, credentials: Any) -> dict[str, str]:
    """SigV4 headers for `GET url` (service ssmmessages), from frozen botocore credentials."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    parts = urlsplit(url)
    http_url = parts._replace(scheme="https" if parts.scheme == "wss" else "http").geturl()
    request = AWSRequest(method="GET", url=http_url)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    wanted = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    return {name: request.headers[name] for name in wanted if name in request.headers}


async def _profile_settings(
    url: str, profile: str | None, region: str | None, sign: bool
) -> tuple[str | None, dict[str, str]]:
    """(ca_bundle, signature headers) from the profile, through botocore's own resolution."""
    from ssm_tui.aws import clients

    session = await clients.get_session(profile or None)
    ca_bundle = session.get_config_variable("ca_bundle")
    headers: dict[str, str] = {}
    if sign:
        try:
            credentials = await session.get_credentials()
            if credentials is None:
                raise RuntimeError("no credentials found")
            frozen = await credentials.get_frozen_credentials()
            region = region or session.get_config_variable("region") or "us-east-1"
            headers = signed_headers(url, region, frozen)
        except Exception as exc:  # noqa: BLE001 - as the official plugin: log, dial unsigned
            log.info("websocket upgrade not signed: %s", exc)
    return (str(ca_bundle) if ca_bundle else None), headers


async def socket_options(url: str, profile: str | None, region: str | None) -> dict[str, Any]:
    """Keyword arguments for `websockets.connect(url, ...)`: ssl, proxy, additional_headers."""
    parts = urlsplit(url)
    secure = parts.scheme.lower() == "wss"
    options: dict[str, Any] = {"proxy": None if is_loopback(parts.hostname or "") else True}
    sign = want_signature(url)
    env_bundle = os.environ.get("AWS_CA_BUNDLE") or None
    ca_bundle = env_bundle
    headers: dict[str, str] = {}
    if secure or sign:
        try:
            found, headers = await asyncio.wait_for(
                _profile_settings(url, profile, region, sign), RESOLVE_TIMEOUT
            )
            ca_bundle = env_bundle or found
        except Exception as exc:  # noqa: BLE001 - a broken profile fails the API calls clearly
            log.info("profile settings for the websocket unavailable: %s", exc)
    if secure:
        options["ssl"] = ssl_context(ca_bundle)
    if headers:
        options["additional_headers"] = headers
    return options
