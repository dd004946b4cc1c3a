"""The `ssm-tui-plugin` executable as aws-cli runs it, against the fake agent on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from typing import Any

from awscli.customizations.sessionmanager import StartSessionCaller, VersionRequirement

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.client import CLIENT_VERSION
from tests.plugin.fake_agent import FakeAgent

PLUGIN = [sys.executable, "-m", "ssm_tui.plugin.main"]
ENV_NAME = "AWS_SSM_START_SESSION_RESPONSE"


def plugin_args(agent: FakeAgent) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, ENV_NAME: json.dumps(agent.response())}
    argv = [
        *PLUGIN,
        ENV_NAME,
        "us-east-1",
        "StartSession",
        "",
        '{"Target": "i-0123456789abcdef0"}',
        "http://127.0.0.1:1",
    ]
    return argv, env


async def run_plugin(agent: FakeAgent, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    argv, env = plugin_args(agent)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def test_version_makes_aws_cli_use_the_environment_form() -> None:
    proc = await asyncio.create_subprocess_exec(
        *PLUGIN, "--version", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    version = out.decode().strip()
    assert version == CLIENT_VERSION
    env_form = VersionRequirement(StartSessionCaller.LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR)
    assert env_form.meets_requirement(version)
    not_outdated = VersionRequirement(StartSessionCaller.RECOMMENDED_MINIMUM_PLUGIN_VERSION)
    assert not_outdated.meets_requirement(version, inclusive=True)


async def test_exit_status_of_a_non_interactive_command() -> None:
    async with FakeAgent(
        session_type="NonInteractiveCommands", exit_code=5, command_output=b"remote says hi\n"
    ) as agent:
        code, out, err = await run_plugin(agent)
    assert code == 5
    assert out == b"remote says hi\n"
    assert b"Starting session with SessionId: s-fake" in err


async def test_piped_stdin_runs_in_the_shell_and_ends_it() -> None:
    async with FakeAgent() as agent:
        code, out, _ = await run_plugin(agent, stdin=b"echo piped\n")
    assert code == 0
    assert out.startswith(b"fake$ echo piped\n")
    assert agent.received_bytes() == b"echo piped\n\x04"
    assert agent.sizes == [(300, 100)]  # stdout is not a terminal: the official default


async def test_kms_without_credentials_is_a_clear_message() -> None:
    """The agent asks for KMS; with no AWS credentials GenerateDataKey cannot be called."""
    async with FakeAgent(session_type="Standard_Stream", kms=True) as agent:
        code, _, err = await run_plugin(agent)
    assert code == 255
    assert b"kms:GenerateDataKey on key k failed" in err
    assert agent.handshake_response is not None
    assert agent.handshake_response.status_of("KMSEncryption") == m.ActionStatus.FAILED


async def test_missing_response_variable_is_a_usage_error() -> None:
    proc = await asyncio.create_subprocess_exec(
        *PLUGIN,
        ENV_NAME + "_NOPE",
        "us-east-1",
        "StartSession",
        "",
        "{}",
        "http://x",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"AWS_SSM_START_SESSION_RESPONSE_NOPE is not set" in err


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _port_session(agent: FakeAgent, exchange: Any) -> None:
    argv, env = plugin_args(agent)
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
            port = int(re.search(rb"Port (\d+) opened", line).group(1))
            await exchange(port, proc.stdout)
        proc.send_signal(2)  # Ctrl-C: the plugin sends Flag TerminateSession and exits 0
        async with asyncio.timeout(30):
            assert await proc.wait() == 0
        assert m.PayloadFlag.TERMINATE_SESSION in agent.flags
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _roundtrip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    got = await reader.readexactly(len(payload))
    writer.close()
    return got


async def test_mux_port_forwarding_carries_concurrent_connections() -> None:
    target = await asyncio.start_server(_echo, "127.0.0.1", 0)
    props = {"type": "LocalPortForwarding", "portNumber": "1", "localPortNumber": "0"}
    async with FakeAgent(
        session_type="Port", properties=props, port_target=target.sockets[0].getsockname()[1]
    ) as agent:

        async def exchange(port: int, _: Any) -> None:
            payloads = [bytes([65 + i]) * 70_000 for i in range(3)]
            results = await asyncio.gather(*(_roundtrip(port, p) for p in payloads))
            assert results == payloads

        await _port_session(agent, exchange)
    target.close()


async def test_basic_port_forwarding_with_an_old_agent() -> None:
    props = {"type": "LocalPortForwarding", "portNumber": "1", "localPortNumber": "0"}
    async with FakeAgent(session_type="Port", properties=props, agent_version="3.0.100.0") as agent:

        async def exchange(port: int, _: Any) -> None:
            assert await _roundtrip(port, b"one") == b"one"
            for _ in range(100):  # the plugin reports the end of the first connection
                if m.PayloadFlag.DISCONNECT_TO_PORT in agent.flags:
                    break
                await asyncio.sleep(0.05)
            assert await _roundtrip(port, b"two") == b"two"

        await _port_session(agent, exchange)
        assert agent.received_bytes() == b"onetwo"  # raw bytes, no smux framing
        assert m.PayloadFlag.DISCONNECT_TO_PORT in agent.flags


async def test_unreachable_destination_is_reported() -> None:
    closed = await asyncio.start_server(_echo, "127.0.0.1", 0)
    dead_port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    props = {"type": "LocalPortForwarding", "portNumber": "1", "localPortNumber": "0"}
    async with FakeAgent(session_type="Port", properties=props, port_target=dead_port) as agent:

        async def exchange(port: int, stdout: asyncio.StreamReader) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello?")
            assert await reader.read() == b""  # the stream is closed by the agent
            writer.close()
            text = b""
            while b"Connection to destination port failed" not in text:
                text += await stdout.readline()

        await _port_session(agent, exchange)


async def test_forwarding_from_a_local_unix_socket(tmp_path: Any) -> None:
    target = await asyncio.start_server(_echo, "127.0.0.1", 0)
    path = str(tmp_path / "fwd.sock")
    props = {"type": "LocalPortForwarding", "portNumber": "1", "localUnixSocket": path}
    async with FakeAgent(
        session_type="Port", properties=props, port_target=target.sockets[0].getsockname()[1]
    ) as agent:
        argv, env = plugin_args(agent)
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert proc.stdout is not None
            async with asyncio.timeout(30):
                assert b"Unix socket" in await proc.stdout.readline()
                reader, writer = await asyncio.open_unix_connection(path)
                writer.write(b"over unix")
                assert await reader.readexactly(9) == b"over unix"
                writer.close()
            proc.send_signal(2)
            async with asyncio.timeout(30):
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    target.close()
