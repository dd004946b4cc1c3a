"""Session Manager API calls: StartSession, ResumeSession, TerminateSession (no Textual).

Failures become `SsmTuiError`s with a next step (`errors.raise_for`), plus the hints that only
make sense here: a target whose agent is not connected, an unknown document. The token in a
`StartedSession` is never logged (its repr hides it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from botocore import exceptions as bce

from ssm_tui.aws import clients
from ssm_tui.aws.errors import SsmTuiError, raise_for
from ssm_tui.aws.models import StartedSession

log = logging.getLogger(__name__)
T = TypeVar("T")

# --- deadlines that fit a person waiting ---------------------------------------------------------
# With the shared client config (8 attempts, exponential backoff) a gone endpoint kept ResumeSession
# busy for a minute per call, a TerminateSession on exit for 56 s, and a region that does not
# exist made StartSession take 58 s to fail. The calls of a session's life get fewer attempts and a
# deadline; a reconnect loop (plugin/reconnect.py) does the retrying at its own pace.
QUICK_CONFIG = AioConfig(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3.0, read_timeout=10.0
)
RESUME_CONFIG = AioConfig(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3.0, read_timeout=10.0
)
"""ResumeSession runs inside a reconnect loop that retries at its own pace: two attempts each."""
RESUME_DEADLINE = 12.0
TERMINATE_DEADLINE = 5.0
RESOLVE_DEADLINE = 5.0


class SessionDeadline(SsmTuiError):
    """A Session Manager call did not finish within its deadline."""


async def _within(deadline: float, what: str, call: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(call, deadline)
    except TimeoutError:
        raise SessionDeadline(
            f"{what} did not answer within {deadline:.0f} s",
            "check the network or proxy to the SSM endpoint",
        ) from None


async def _check_endpoint_resolves(profile: str | None, region: str | None) -> None:
    """Fail in seconds for a region whose SSM endpoint has no DNS name (a typo, a made-up region).

    Only for regions botocore does not know: a known region's endpoint is never looked up twice.
    """
    if not region:
        return
    try:
        import botocore.session

        if region in botocore.session.get_session().get_available_regions("ssm"):
            return
        host = urlsplit(clients.resolved_endpoint("ssm", profile, region)).hostname
    except Exception:  # noqa: BLE001 - StartSession itself reports a bad profile or config
        return
    if not host:
        return
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.getaddrinfo(host, 443), RESOLVE_DEADLINE)
    except socket.gaierror:
        raise SsmTuiError(
            f"region {region!r}: the SSM endpoint {host} does not exist",
            "check --region or the profile's region (e.g. us-east-1)",
        ) from None
    except (TimeoutError, OSError):
        return  # a slow resolver: let StartSession try


def _session_error(exc: BaseException, profile: str | None, target: str = "") -> SsmTuiError:
    # the hints name the profile: the one botocore used when none was given
    profile = profile or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    if isinstance(exc, bce.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", "") or exc)
        if code == "TargetNotConnected":
            err = SsmTuiError(
                f"{target or 'the target'} is not connected to Session Manager: {message}",
                "check that the instance is running and its SSM agent is online "
                "(ssm-tui list shows the ping status)",
            )
            err.code = code
            return err
        if code in ("InvalidDocument", "InvalidDocumentOperation", "InvalidParameters"):
            err = SsmTuiError(
                f"StartSession refused the document or its parameters: {message}",
                "check --document and --parameters (a JSON object of name -> list of strings)",
            )
            err.code = code
            return err
        if code == "DoesNotExistException":
            err = SsmTuiError(f"no such session: {message}")
            err.code = code
            return err
    return raise_for(exc, profile)


def _endpoint_override(
    endpoint_url: str | None, profile: str | None, region: str | None
) -> str | None:
    """`endpoint_url` for the SSM client when it differs from what botocore would resolve.

    The plugin receives the endpoint on its command line (argv[6]); None keeps the profile's own
    endpoint (and its shared client).
    """
    if not endpoint_url:
        return None
    try:
        resolved = clients.resolved_endpoint("ssm", profile, region)
    except Exception:  # noqa: BLE001 - an override is then the only information we have
        resolved = ""
    if resolved.rstrip("/") == endpoint_url.rstrip("/"):
        return None
    return endpoint_url


def _endpoint(profile: str | None, region: str | None) -> str:
    try:
        return clients.resolved_endpoint("ssm", profile, region)
    except Exception:  # noqa: BLE001 - only the plugin's ResumeSession needs it
        return ""


async def start_session(
    profile: str | None,
    region: str | None,
    target: str,
    document_name: str | None = None,
    parameters: dict[str, list[str]] | None = None,
    reason: str | None = None,
) -> StartedSession:
    """StartSession on `target`; raises `SsmTuiError` (with a hint) when AWS refuses."""
    request: dict[str, object] = {"Target": target}
    if document_name:
        request["DocumentName"] = document_name
    if parameters:
        request["Parameters"] = parameters
    if reason:
        request["Reason"] = reason
    await _check_endpoint_resolves(profile, region)
    try:
        async with clients.client("ssm", profile, region) as ssm:
            response = await ssm.start_session(**request)
            region = ssm.meta.region_name
    except Exception as exc:
        raise _session_error(exc, profile, target) from None
    log.info("started session %s on %s", response.get("SessionId"), target)
    return StartedSession(
        session_id=response["SessionId"],
        token_value=response["TokenValue"],
        stream_url=response["StreamUrl"],
        target=target,
        region=region or "",
        profile=profile or "",
        document_name=document_name,
        parameters=dict(parameters or {}),
        endpoint_url=_endpoint(profile, region),
    )


async def resume_session(
    profile: str | None,
    region: str | None,
    session_id: str,
    endpoint_url: str | None = None,
) -> StartedSession | None:
    """ResumeSession: a new token (and StreamUrl) for a session whose socket dropped.

    None when the service says the session is over (no token, or it no longer exists). A few
    attempts within RESUME_DEADLINE: the caller's reconnect loop retries at its own pace.
    """

    async def call() -> tuple[dict, str | None]:
        override = _endpoint_override(endpoint_url, profile, region)
        async with clients.client(
            "ssm", profile, region, config=RESUME_CONFIG, endpoint_url=override
        ) as ssm:
            return await ssm.resume_session(SessionId=session_id), ssm.meta.region_name

    try:
        response, region = await _within(RESUME_DEADLINE, "ResumeSession", call())
    except bce.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DoesNotExistException":
            return None
        raise _session_error(exc, profile) from exc
    except SsmTuiError:
        raise
    except Exception as exc:
        # `from exc`: the reconnect loop tells a refused connection from a passing failure
        raise _session_error(exc, profile) from exc
    token = response.get("TokenValue")
    if not token:
        return None
    return StartedSession(
        session_id=response.get("SessionId") or session_id,
        token_value=token,
        stream_url=response.get("StreamUrl") or "",
        target="",
        region=region or "",
        profile=profile or "",
        endpoint_url=endpoint_url or "",
    )


async def terminate_session(
    profile: str | None,
    region: str | None,
    session_id: str,
    endpoint_url: str | None = None,
) -> None:
    """TerminateSession (idempotent on AWS: an ended session is not an error).

    Bounded (TERMINATE_DEADLINE, few attempts): it runs on the way out, with a person waiting.
    """

    async def call() -> None:
        override = _endpoint_override(endpoint_url, profile, region)
        async with clients.client(
            "ssm", profile, region, config=QUICK_CONFIG, endpoint_url=override
        ) as ssm:
            await ssm.terminate_session(SessionId=session_id)

    try:
        await _within(TERMINATE_DEADLINE, "TerminateSession", call())
    except SsmTuiError:
        raise
    except Exception as exc:
        raise _session_error(exc, profile) from None
    log.info("terminated session %s", session_id)
