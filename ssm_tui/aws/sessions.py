"""Session Manager API calls: StartSession, ResumeSession, TerminateSession (no Textual).

Failures become `SsmTuiError`s with a next step (`errors.raise_for`), plus the hints that only
make sense here: a target whose agent is not connected, an unknown document. The token in a
`StartedSession` is never logged (its repr hides it).
"""

from __future__ import annotations

import logging
import os

from botocore import exceptions as bce

from ssm_tui.aws import clients
from ssm_tui.aws.errors import SsmTuiError, raise_for
from ssm_tui.aws.models import StartedSession

log = logging.getLogger(__name__)


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

    None when the service says the session is over (no token, or it no longer exists).
    """
    try:
        override = _endpoint_override(endpoint_url, profile, region)
        async with clients.client("ssm", profile, region, endpoint_url=override) as ssm:
            response = await ssm.resume_session(SessionId=session_id)
            region = ssm.meta.region_name
    except bce.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DoesNotExistException":
            return None
        raise _session_error(exc, profile) from None
    except Exception as exc:
        raise _session_error(exc, profile) from None
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
    """TerminateSession (idempotent on AWS: an ended session is not an error)."""
    try:
        override = _endpoint_override(endpoint_url, profile, region)
        async with clients.client("ssm", profile, region, endpoint_url=override) as ssm:
            await ssm.terminate_session(SessionId=session_id)
    except Exception as exc:
        raise _session_error(exc, profile) from None
    log.info("terminated session %s", session_id)
