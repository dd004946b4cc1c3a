"""The one ASGI application on the sandbox's port: a front router in front of moto.

Order of a request: websocket upgrades go to the data channel; `/_sandbox/` is the admin endpoint;
the unsigned SSO portal paths go to `SsoPortal`, the unsigned SSO OIDC paths and the device
verification page to `DeviceAuthority`; every signed AWS call then passes the fault gate
(latency, throttling, expired credentials) and goes either to the fast EC2 DescribeInstances or to
moto (through a2wsgi, in its thread pool), which carries the added SSM operations.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import random
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from ssm_tui.sandbox import cloudtrail, ec2_api, instance_connect, kms, ssm_api, windows_password
from ssm_tui.sandbox import faults as faults_mod
from ssm_tui.sandbox.context import Faults, SandboxContext
from ssm_tui.sandbox.errors import Reply, fault_reply, protocol_of
from ssm_tui.sandbox.identity import Caller, resolve_caller, restore_from_token, signed_scope
from ssm_tui.sandbox.sessions import SandboxSession, SessionRegistry
from ssm_tui.sandbox.sso_oidc import OIDC_PATHS, VERIFICATION_PATH, DeviceAuthority
from ssm_tui.sandbox.sso_portal import PORTAL_PATHS, TOKEN_HEADER, SsoPortal
from ssm_tui.sandbox.world import PROFILES, World, sso_role_arn

DATA_CHANNEL_PREFIX = "/v1/data-channel/"
DEFAULT_ACCOUNT = "123456789012"


@dataclass(slots=True)
class SandboxApp:
    """The front router. `context` is set once the event loop runs (before the first request)."""

    moto: ASGIApp
    world: World
    registry: SessionRegistry
    faults: Faults
    portal: SsoPortal
    oidc: DeviceAuthority
    base_access_key: str
    info: dict[str, Any]
    context: SandboxContext | None = None
    rng: random.Random = field(default_factory=random.Random)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/_sandbox/"):
            await self._admin(scope, receive, send, path)
            return
        if path in PORTAL_PATHS and TOKEN_HEADER in headers:
            reply = await self._gate("sso", False, None, None)
            if reply is None:
                query = scope.get("query_string", b"").decode("latin-1")
                reply = self.portal.handle(scope["method"], path, query, headers[TOKEN_HEADER])
            await _send_reply(send, reply)
            return
        if "authorization" not in headers and await self._sso_oidc(scope, receive, send, path):
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        signed = signed_scope(
            headers.get("authorization"), (query.get("X-Amz-Credential") or [None])[0]
        )
        if signed is None:
            await self.moto(scope, receive, send)
            return
        caller = resolve_caller(signed.access_key) or restore_from_token(
            signed.access_key,
            headers.get("x-amz-security-token") or (query.get("X-Amz-Security-Token") or [None])[0],
        )
        if caller is None and "x-moto-account-id" not in headers:
            # AWS rejects keys it never issued; moto would quietly use a default account.
            await _send_reply(
                send,
                fault_reply(protocol_of(signed.service, "x-amz-target" in headers), "unknown-key"),
            )
            return
        reply = await self._gate(
            signed.service, "x-amz-target" in headers, signed.access_key, caller
        )
        if reply is not None:
            await _send_reply(send, reply)
            return
        if signed.service == "kms" and kms.STATE.deny_profile and caller is not None:
            body = await _read_body(receive)
            if self._is_broken(kms.STATE.deny_profile, signed.access_key, caller):
                account = _account(headers, caller)
                target = headers.get("x-amz-target", "")
                reply = kms.denied_reply(target, body, caller.arn, account, signed.region)
                await _send_reply(send, reply)
                return
            receive = _replay(body, receive)
        target = headers.get("x-amz-target", "")
        if target.startswith(instance_connect.TARGET_PREFIX) and scope["method"] == "POST":
            status, text = instance_connect.handle(
                target.split(".", 1)[1],
                await _read_body(receive),
                _account(headers, caller),
                signed.region,
            )
            await _send_reply(send, Reply(status, list(_JSON_HEADERS), text.encode()))
            return
        if target.startswith(cloudtrail.TARGET_PREFIX) and scope["method"] == "POST":
            status, text = cloudtrail.handle(
                target[len(cloudtrail.TARGET_PREFIX) :],
                await _read_body(receive),
                _account(headers, caller),
                signed.region,
            )
            await _send_reply(send, Reply(status, list(_JSON_HEADERS), text.encode()))
            return
        if target.startswith("AmazonSSM.") and scope["method"] == "POST":
            body = await _read_body(receive)
            operation = target.split(".", 1)[1]
            if operation == "DescribeSessions" and (fault := self._sessions_fault(signed, caller)):
                await _send_reply(send, fault_reply("json", fault))
                return
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = None
            fast = isinstance(params, dict) and ssm_api.fast_path(operation, params)
            if not fast:
                await self._wait_for_ssm()
            if fast and isinstance(params, dict):
                call = ssm_api.Call(
                    params=params,
                    current_account=_account(headers, caller),
                    region=signed.region,
                    access_key=signed.access_key,
                )
                status, text = ssm_api.handle(operation, call)
                if status == 200 and operation in cloudtrail.RECORDED:
                    _record_trail(operation, params, text, call, caller, scope, headers)
                await _send_reply(send, Reply(status, list(_JSON_HEADERS), text.encode()))
                return
            receive = _replay(body, receive)
        elif signed.service == "ssm":
            await self._wait_for_ssm()
        if signed.service == "ec2" and scope["method"] == "POST":
            body = await _read_body(receive)
            action = parse_qs(body.decode("utf-8", "replace")).get("Action")
            if action == ["DescribeInstances"]:
                account = _account(headers, caller)
                await _send_reply(
                    send, ec2_api.describe_instances(self.world, account, signed.region, body)
                )
                return
            if action == ["GetPasswordData"]:  # moto has none (`windows_password.py`)
                account = _account(headers, caller)
                reply = windows_password.get_password_data(self.world, account, signed.region, body)
                await _send_reply(send, reply)
                return
            receive = _replay(body, receive)
        await self.moto(scope, receive, send)

    async def _sso_oidc(self, scope: Scope, receive: Receive, send: Send, path: str) -> bool:
        """The unsigned OIDC calls (`sso_oidc.py`) and the page a browser opens; False: not one."""
        method = scope["method"]
        if path in OIDC_PATHS and method == "POST":
            reply = self.oidc.handle(path, await _read_body(receive))
        elif path == VERIFICATION_PATH and method == "GET":
            reply = self.oidc.verification_page(scope.get("query_string", b"").decode("latin-1"))
        else:
            return False
        await _send_reply(send, reply)
        return True

    async def _wait_for_ssm(self) -> None:
        if not ssm_api.MOTO_SEEDED.is_set():
            await asyncio.to_thread(ssm_api.MOTO_SEEDED.wait, 120)

    # -- faults ---------------------------------------------------------------------------------

    async def _gate(
        self, service: str, json_protocol: bool, access_key: str | None, caller: Caller | None
    ) -> Reply | None:
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        protocol = protocol_of(service, json_protocol)
        if faults.throttle and self.rng.random() < faults.throttle:
            return fault_reply(protocol, "throttle")
        if faults.broken_profile and access_key is not None:
            if self._is_broken(faults.broken_profile, access_key, caller):
                return fault_reply(protocol, "expired")
        if service == "ec2" and access_key is not None:
            for name, fault in (
                (faults.ec2_throttled_profile, "throttle"),
                (faults.ec2_denied_profile, "denied"),
            ):
                if name and self._is_broken(name, access_key, caller):
                    return fault_reply(protocol, fault)
        return None

    def _sessions_fault(self, signed: Any, caller: Caller | None) -> str | None:
        """issue 17: the DescribeSessions fault of the caller's profile ("denied", "throttle")."""
        for name, fault in (
            (self.faults.sessions_denied_profile, "denied"),
            (self.faults.sessions_throttled_profile, "throttle"),
        ):
            if name and signed.access_key and self._is_broken(name, signed.access_key, caller):
                return fault
        return None

    def _is_broken(self, profile_name: str, access_key: str, caller: Caller | None) -> bool:
        """Does this request use the broken profile's own credentials?"""
        for profile in PROFILES:
            if profile.name != profile_name:
                continue
            if profile.role_arn:
                return caller is not None and caller.role_arn == profile.role_arn
            if profile.sso_account_id and profile.sso_role_name:
                wanted = sso_role_arn(profile.sso_account_id, profile.sso_role_name)
                return caller is not None and caller.role_arn == wanted
            return access_key == self.base_access_key
        return False

    # -- admin ----------------------------------------------------------------------------------

    async def _admin(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        method = scope["method"]
        if path == "/_sandbox/faults" and method == "GET":
            await _send_reply(send, _json_reply(200, self.faults.as_dict()))
        elif path == "/_sandbox/faults" and method == "POST":
            body = await _read_body(receive)
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                self.faults.update(changes)
            except (ValueError, TypeError) as error:
                await _send_reply(send, _json_reply(400, {"error": str(error)}))
                return
            await _send_reply(send, _json_reply(200, self.faults.as_dict()))
        elif path == "/_sandbox/faults/reset" and method == "POST":
            self.faults.reset()
            await _send_reply(send, _json_reply(200, self.faults.as_dict()))
        elif path == "/_sandbox/kms" and method in ("GET", "POST"):
            await self._kms_admin(method, receive, send)
        elif path == "/_sandbox/instance-connect" and method in ("GET", "POST"):
            try:
                changes = json.loads(await _read_body(receive) or b"{}") if method == "POST" else {}
                reply = _json_reply(200, instance_connect.admin(changes))
            except (ValueError, TypeError, AttributeError) as error:
                reply = _json_reply(400, {"error": str(error)})
            await _send_reply(send, reply)
        elif path == "/_sandbox/audit-history" and method == "POST":
            await self._audit_history(receive, send)
        elif path == "/_sandbox/sso" and method in ("GET", "POST"):
            await self._sso_admin(method, receive, send)
        elif path == "/_sandbox/info" and method == "GET":
            await _send_reply(send, _json_reply(200, self.info))
        else:
            await _send_reply(send, _json_reply(404, {"error": f"no admin route {method} {path}"}))

    async def _audit_history(self, receive: Receive, send: Send) -> None:
        """POST `{"days": 30}`: seed the past month of sessions (`sandbox/audit_seed.py`)."""
        from ssm_tui.sandbox.audit_seed import seed_history

        try:
            changes = json.loads(await _read_body(receive) or b"{}")
            days = int(changes.get("days", 30)) if isinstance(changes, dict) else -1
            if not 1 <= days <= 90:
                raise ValueError("days must be between 1 and 90")
        except (ValueError, TypeError, AttributeError) as error:
            await _send_reply(send, _json_reply(400, {"error": str(error)}))
            return
        made = await asyncio.to_thread(seed_history, self.world, self.registry, days)
        await _send_reply(send, _json_reply(200, {"sessions": made}))

    async def _sso_admin(self, method: str, receive: Receive, send: Send) -> None:
        """GET / POST `{"device_code_ttl": s, "interval": s, "token_ttl": s}` (`sso_oidc.py`)."""
        if method == "POST":
            try:
                changes = json.loads(await _read_body(receive) or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                if changes.pop("reset", False):
                    self.oidc.timing = type(self.oidc.timing)()
                self.oidc.timing.update(changes)
            except (ValueError, TypeError) as error:
                await _send_reply(send, _json_reply(400, {"error": str(error)}))
                return
        state = {**self.oidc.timing.as_dict(), "seeded_token": self.portal.seeded}
        await _send_reply(send, _json_reply(200, state))

    async def _kms_admin(self, method: str, receive: Receive, send: Send) -> None:
        """GET / POST `{"enabled": bool, "deny_profile": name|null}` (`sandbox/kms.py`)."""
        if method == "GET":
            await _send_reply(send, _json_reply(200, kms.STATE.as_dict()))
            return
        try:
            changes = json.loads(await _read_body(receive) or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            names = [profile.name for profile in PROFILES]
            state = await asyncio.to_thread(kms.update, changes, names)
        except (ValueError, TypeError) as error:
            await _send_reply(send, _json_reply(400, {"error": str(error)}))
            return
        await _send_reply(send, _json_reply(200, state))

    # -- data channel ---------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.faults.outage:  # the data channel is unreachable: every open fails
            await receive()  # websocket.connect
            await faults_mod.refuse_upgrade(scope, send)
            return
        websocket = WebSocket(scope, receive, send)
        path: str = scope["path"]
        session_id = (
            path[len(DATA_CHANNEL_PREFIX) :] if path.startswith(DATA_CHANNEL_PREFIX) else ""
        )
        session = self.registry.get(session_id) if session_id else None
        if session is None or not session.active or self.context is None:
            await websocket.close(code=1008)  # before accept: the client sees HTTP 403
            return
        try:
            await _serve_data_channel(websocket, session, self.context)
        except WebSocketDisconnect:
            pass
        except Exception:  # keep the server up; the failure belongs in the sandbox's log
            traceback.print_exc(file=sys.stderr)


async def _serve_data_channel(
    websocket: WebSocket, session: SandboxSession, context: SandboxContext
) -> None:
    try:
        module = importlib.import_module("ssm_tui.sandbox.datachannel")
    except ImportError:
        module = None
    if module is None or not hasattr(module, "serve"):
        await _echo(websocket)
        return
    await module.serve(websocket, session, context)


async def _echo(websocket: WebSocket) -> None:
    """Stand-in until the data channel exists: echoes frames, so the seam is testable."""
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await websocket.send_bytes(message["bytes"])
        elif message.get("text") is not None:
            await websocket.send_text(message["text"])


def _record_trail(
    operation: str,
    params: dict[str, Any],
    text: str,
    call: ssm_api.Call,
    caller: Caller | None,
    scope: Scope,
    headers: dict[str, str],
) -> None:
    """CloudTrail's record of a Session Manager call (`sandbox/cloudtrail.py`)."""
    account = call.current_account
    client = scope.get("client") or ("127.0.0.1", 0)
    cloudtrail.record(
        operation,
        params,
        json.loads(text),
        account_id=account,
        region=call.region,
        caller_arn=caller.arn if caller else f"arn:aws:iam::{account}:user/moto",
        caller_name=caller.name if caller else "moto",
        role_arn=caller.role_arn if caller else None,
        access_key=call.access_key,
        source_ip=str(client[0]),
        user_agent=headers.get("user-agent", ""),
    )


def _account(headers: dict[str, str], caller: Caller | None) -> str:
    """The account moto would pick: MOTO_ACCOUNT_ID, the x-moto-account-id header, the key's."""
    forced = os.environ.get("MOTO_ACCOUNT_ID")
    if forced:
        return forced
    return headers.get("x-moto-account-id") or (caller.account_id if caller else DEFAULT_ACCOUNT)


_JSON_HEADERS = ((b"content-type", b"application/x-amz-json-1.1"),)


def _json_reply(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status, [(b"content-type", b"application/json")], json.dumps(payload).encode())


async def _send_reply(send: Send, reply: Reply) -> None:
    headers = [*reply.headers, (b"content-length", str(len(reply.body)).encode())]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields an already-read body once, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
