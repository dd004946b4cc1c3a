"""KMS-encrypted sessions end to end: the real sandbox playing the agent, real websockets, ptys.

The sandbox names a KMS key in the Session Manager preferences (`POST /_sandbox/kms`), so every
shell / command session handshakes with KMSEncryption, and the client must call
kms:GenerateDataKey (moto's KMS, through the session's own profile), pass the encryption
challenge and speak AES-GCM. The official plugin test proves the sandbox's side is the agent's.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import boto3
import pexpect
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.client import SessionError
from ssm_tui.plugin.crypto import ENCRYPTED_CUSTOMER_MESSAGE
from ssm_tui.plugin.main import make_data_key, make_resume
from tests.clients import Sink, client_for
from tests.kms.conftest import AdminError, kms_admin, linux_target, preference_key

SSM_TUI = [sys.executable, "-m", "ssm_tui.cli"]
PROMPT = rb"\$ "
TYPED_MARKER = b"typed-marker-5e1f"


class RecordingProxy:
    """A websocket relay between the client and the sandbox that keeps every frame it passes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.frames: list[tuple[str, bytes]] = []
        self.url = ""

    async def __aenter__(self) -> RecordingProxy:
        self._server = await serve(self._relay, "127.0.0.1", 0, compression=None)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, client: ServerConnection) -> None:
        assert client.request is not None
        async with connect(self.upstream + client.request.path, compression=None) as agent:

            async def pump(source: Any, sink: Any, direction: str) -> None:
                async for frame in source:
                    text = isinstance(frame, str)  # the open-data-channel message
                    data = frame.encode() if text else frame
                    self.frames.append((direction + (" text" if text else ""), data))
                    await sink.send(frame)

            tasks = [
                asyncio.create_task(pump(client, agent, "client->agent")),
                asyncio.create_task(pump(agent, client, "agent->client")),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()

    def stream_payloads(self, direction: str) -> list[m.ClientMessage]:
        decoded = [m.decode(data) for d, data in self.frames if d == direction]
        return [msg for msg in decoded if msg.message_type != m.ACKNOWLEDGE]


async def _recorded_shell(sandbox: Any, target: str) -> tuple[RecordingProxy, Sink, Any]:
    """A shell through the recording relay: type the marker, see the output, exit."""
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(Target=target)
    base = sandbox.endpoint.replace("http://", "ws://", 1)
    sink, messages = Sink(), []
    async with RecordingProxy(base) as proxy:
        client = client_for(
            started,
            target,
            stream_url=started["StreamUrl"].replace(base, proxy.url, 1),
            on_output=sink,
            on_message=messages.append,
        )
        async with client:
            assert await client.wait_ready() == "Standard_Stream"
            await client.send_input(b"echo " + TYPED_MARKER + b" sum-$((6*7))\r")
            await sink.wait_for(TYPED_MARKER + b" sum-42")
            await client.send_input(b"exit\r")
            await client.wait_closed()
            client.messages = messages  # type: ignore[attr-defined]
    return proxy, sink, client


async def test_the_wire_is_encrypted(kms_sandbox: Any) -> None:
    """Neither the typed marker nor the shell's answer ever crosses the socket in plaintext."""
    proxy, sink, client = await _recorded_shell(kms_sandbox, linux_target("sandbox"))
    assert client.encrypted
    assert ENCRYPTED_CUSTOMER_MESSAGE in client.messages
    assert TYPED_MARKER + b" sum-42" in sink.data  # decrypted on our side
    for direction, frame in proxy.frames:
        assert TYPED_MARKER not in frame and b"sum-42" not in frame, direction
    sent = proxy.stream_payloads("client->agent")
    kinds = [msg.payload_type for msg in sent]
    assert m.PayloadType.HANDSHAKE_RESPONSE in kinds
    assert m.PayloadType.ENC_CHALLENGE_RESPONSE in kinds
    response = next(msg for msg in sent if msg.payload_type == m.PayloadType.HANDSHAKE_RESPONSE)
    kms_result = m.parse_handshake_response(response.payload).processed_actions[-1]
    assert kms_result["ActionType"] == "KMSEncryption" and kms_result["ActionStatus"] == 1
    received = proxy.stream_payloads("agent->client")
    request = m.parse_handshake_request(received[0].payload)
    assert request.kms_requested and request.session_type == "Standard_Stream"
    by_seq = {msg.sequence_number: msg.payload_type for msg in received}  # resends: same seq
    assert by_seq[1] == m.PayloadType.ENC_CHALLENGE_REQUEST
    assert by_seq[2] == m.PayloadType.HANDSHAKE_COMPLETE


async def test_the_recording_sees_plaintext_without_kms(sandbox_env: Any) -> None:
    """The same observation on an unencrypted session finds the marker: it can fail."""
    assert not kms_admin(sandbox_env)["enabled"]
    proxy, _sink, client = await _recorded_shell(sandbox_env, linux_target("sandbox"))
    assert not client.encrypted
    assert any(TYPED_MARKER in frame for d, frame in proxy.frames if d == "client->agent")
    assert any(b"sum-42" in frame for d, frame in proxy.frames if d == "agent->client")


@pytest.mark.slow
def test_our_plugin_opens_an_encrypted_shell(kms_sandbox: Any) -> None:
    target = linux_target("sandbox")
    child = pexpect.spawn(
        SSM_TUI[0],
        [*SSM_TUI[1:], "connect", target, "--plugin", "builtin"],
        dimensions=(30, 100),
        timeout=30,
        env=dict(os.environ),
    )
    try:
        child.expect(re.escape(ENCRYPTED_CUSTOMER_MESSAGE.encode()))
        child.expect(PROMPT)
        child.sendline(b"echo kms-$((6*7))")
        child.expect(rb"kms-42")
        child.expect(PROMPT)
        child.sendline(b"exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


async def test_non_interactive_commands_are_encrypted_too(kms_sandbox: Any) -> None:
    """The agent encrypts every session type but Port (`isEncryptionEnabled`)."""
    target = linux_target("sandbox")
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(
        Target=target,
        DocumentName="AWS-StartNonInteractiveCommand",
        Parameters={"command": ["echo nic-ok"]},
    )
    sink = Sink()
    client = client_for(
        started,
        target,
        on_output=sink,
    )
    async with client:
        assert await client.wait_ready() == "NonInteractiveCommands"
        assert client.encrypted
        await client.wait_closed()
    assert b"nic-ok" in sink.data


async def test_a_data_key_for_another_context_is_refused(kms_sandbox: Any) -> None:
    """The agent decrypts with its own encryption context: a key bound to another target fails."""
    target = linux_target("sandbox")
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(Target=target)
    real = make_data_key("sandbox", "us-east-1")

    async def wrong_target(key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        return await real(key_id, {**context, "aws:ssm:TargetId": "i-0000000000000000f"})

    client = client_for(
        started,
        target,
        generate_data_key=wrong_target,
        on_output=Sink(),
    )
    async with client:
        with pytest.raises(SessionError, match="Fetching data key failed"):
            await client.wait_ready()
    active = ssm.describe_sessions(State="Active")["Sessions"]
    assert started["SessionId"] not in {s["SessionId"] for s in active}


async def test_an_encrypted_session_survives_a_reconnect(kms_sandbox: Any) -> None:
    """The socket drops; ResumeSession + reconnect carry on with the same keys, no new handshake."""
    target = linux_target("sandbox")
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(Target=target)
    sid = started["SessionId"]
    sink = Sink()
    client = client_for(
        started,
        target,
        resume=make_resume(sid, "sandbox", "us-east-1", kms_sandbox.endpoint),
        on_output=sink,
    )
    try:
        async with client:
            await client.wait_ready()
            kms_sandbox.set_faults(drop_sessions_after=1.0)
            await client.send_input(b"for i in 1 2 3; do sleep 1; echo tick-$i; done; exit\r")
            await sink.wait_for(b"tick-3", timeout=30)
            await client.wait_closed()
    finally:
        kms_sandbox.reset_faults()
    assert client.encrypted and client.reconnects >= 1
    assert b"tick-1" in sink.data and b"tick-2" in sink.data


async def test_port_sessions_are_never_encrypted(kms_sandbox: Any) -> None:
    target = linux_target("sandbox")
    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(
        Target=target,
        DocumentName="AWS-StartPortForwardingSession",
        Parameters={"portNumber": ["22"], "localPortNumber": ["0"]},
    )

    async def no_kms(key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        raise AssertionError("a port session asked for a KMS data key")

    client = client_for(
        started,
        target,
        generate_data_key=no_kms,
        on_output=Sink(),
    )
    try:
        async with client:
            assert await client.wait_ready() == "Port"
            assert not client.encrypted
    finally:
        ssm.terminate_session(SessionId=started["SessionId"])


@pytest.mark.slow
def test_missing_kms_permission_names_the_action_and_the_key(kms_sandbox: Any) -> None:
    """A role without kms:GenerateDataKey: one clear sentence, exit 255, no session left open."""
    state = kms_admin(kms_sandbox, {"deny_profile": "prod"})
    key = state["keys"]["222222222222/us-east-1"]
    target = linux_target("prod")
    result = subprocess.run(
        [*SSM_TUI, "connect", target, "--profile", "prod", "--plugin", "builtin"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 255, stderr
    assert f"kms:GenerateDataKey on key {key} was denied for prod" in stderr
    assert "Traceback" not in stderr
    session_id = re.search(r"SessionId: (\S+)", stderr)
    assert session_id is not None, stderr
    ssm = boto3.Session(profile_name="prod").client("ssm")
    active = ssm.describe_sessions(State="Active")["Sessions"]
    assert session_id.group(1) not in {s["SessionId"] for s in active}


@pytest.mark.slow
def test_the_switch_names_a_key_in_every_accounts_preferences(kms_sandbox: Any) -> None:
    keys = kms_admin(kms_sandbox)["keys"]
    for profile, scope in (
        ("sandbox", "111111111111/us-east-1"),
        ("prod", "222222222222/us-east-1"),
        ("dev", "333333333333/eu-west-1"),
    ):
        assert preference_key(profile) == keys[scope]
        assert keys[scope].startswith(f"arn:aws:kms:{scope.split('/')[1]}:{scope.split('/')[0]}:")
    kms_admin(kms_sandbox, {"enabled": False})
    assert preference_key("prod") == ""
    kms_admin(kms_sandbox, {"enabled": True})
    assert preference_key("prod") == keys["222222222222/us-east-1"]


def test_the_switch_rejects_unknown_settings(sandbox_env: Any) -> None:
    with pytest.raises(AdminError, match="400: .*unknown kms setting"):
        kms_admin(sandbox_env, {"enable": True})
    with pytest.raises(AdminError, match="400: .*not one of"):
        kms_admin(sandbox_env, {"deny_profile": "nobody"})


@pytest.mark.skipif(
    shutil.which("session-manager-plugin") is None,
    reason="the official session-manager-plugin is not on PATH (build it by hand, see "
    "shared/reference/building-the-official-plugin.md)",
)
def test_official_plugin_opens_an_encrypted_shell_through_aws_cli(kms_sandbox: Any) -> None:
    """aws-cli + session-manager-plugin 1.2.0.0: the sandbox's agent side is the real one's.

    The plugin's SDK ignores AWS_ENDPOINT_URL, so its kms:GenerateDataKey reaches the sandbox
    through the sandbox's AWS proxy (HTTPS_PROXY + AWS_CA_BUNDLE).
    """
    env = dict(os.environ)
    env["HTTPS_PROXY"] = kms_sandbox.info["aws_proxy"]
    env["AWS_CA_BUNDLE"] = kms_sandbox.info["aws_ca_bundle"]
    env["NO_PROXY"] = "127.0.0.1,localhost"
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    child = pexpect.spawn(
        aws,
        ["ssm", "start-session", "--target", linux_target("sandbox")],
        dimensions=(30, 100),
        timeout=30,
        env=env,
    )
    try:
        child.expect(re.escape(ENCRYPTED_CUSTOMER_MESSAGE.encode()))
        child.expect(PROMPT)
        child.sendline(b"echo official-$((6*7))")
        child.expect(rb"official-42")
        child.expect(PROMPT)
        child.sendline(b"exit")
        child.expect(rb"Exiting session with sessionId")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


@pytest.mark.slow
def test_kms_flag_encrypts_from_the_start(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ssm-tui sandbox --kms`: the preferences name a key before the first session."""
    from ssm_tui.demo import SandboxProcess

    class KmsSandbox(SandboxProcess):
        def command(self) -> list[str]:
            return [*super().command(), "--kms"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path / "home")
    box = KmsSandbox(instances=4, directory=tmp_path / "files", env=env)
    box.start(timeout=60)
    try:
        for key, value in box.env.items():
            monkeypatch.setenv(key, value)
        state = kms_admin(box)
        assert state["enabled"] and len(state["keys"]) == 6
        assert preference_key("prod") == state["keys"]["222222222222/us-east-1"]
        assert preference_key("dev") == state["keys"]["333333333333/eu-west-1"]
    finally:
        box.stop()
