"""DataChannelClient through a real websocket against the fake agent (our codec, server end)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.client import DataChannelClient, KMSEncryptionNotSupported, SessionError
from tests.clients import Sink
from tests.plugin.fake_agent import FakeAgent


def client_for(agent: FakeAgent, sink: Sink, **kwargs: object) -> DataChannelClient:
    return DataChannelClient(agent.url, agent.token, session_id="s-fake", on_output=sink, **kwargs)  # type: ignore[arg-type]


async def test_shell_without_handshake_echo_resize_and_close() -> None:
    async with FakeAgent() as agent:
        sink = Sink()
        async with client_for(agent, sink) as client:
            assert await client.wait_ready() == "Standard_Stream"
            await client.resize(120, 40)
            await client.send_input(b"echo hi\r")
            await sink.wait_for(b"fake$ echo hi\r")
            await client.send_input(b"exit\r")
            assert await client.wait_closed() is None
        assert agent.sizes == [(120, 40)]
        opened = agent.opens[0]
        assert opened.client_version and opened.client_id == client.client_id


async def test_handshake_port_session_properties() -> None:
    props = {"portNumber": "80", "type": "LocalPortForwarding", "localPortNumber": "0"}
    async with FakeAgent(session_type="Port", properties=props) as agent:
        messages: list[str] = []
        async with client_for(agent, Sink(), on_message=messages.append) as client:
            assert await client.wait_ready() == "Port"
            assert client.properties == props
            assert client.agent_version == "3.3.1000.0"
        assert agent.handshake_response is not None
        assert agent.handshake_response.status_of("SessionType") == m.ActionStatus.SUCCESS
        assert messages == ["hello from fake"]


async def test_kms_is_refused_with_a_clear_error() -> None:
    async with FakeAgent(session_type="Standard_Stream", kms=True) as agent:
        async with client_for(agent, Sink()) as client:
            with pytest.raises(KMSEncryptionNotSupported, match="KMS encryption"):
                await client.wait_ready()
            for _ in range(100):
                if agent.handshake_response is not None:
                    break
                await asyncio.sleep(0.02)
        response = agent.handshake_response
        assert response is not None
        assert response.status_of("KMSEncryption") == m.ActionStatus.FAILED
        assert any("KMS" in e for e in response.errors)


async def test_exit_code_from_non_interactive_command() -> None:
    async with FakeAgent(
        session_type="NonInteractiveCommands", exit_code=3, command_output=b"out\n"
    ) as agent:
        sink = Sink()
        async with client_for(agent, sink) as client:
            assert await client.wait_closed() == 3
        assert bytes(sink.data) == b"out\n"


async def test_client_resends_what_the_agent_ignored() -> None:
    async with FakeAgent(ignore_first_inputs=3) as agent:
        sink = Sink()
        async with client_for(agent, sink) as client:
            await client.wait_ready()
            for part in (b"a", b"b", b"c", b"d"):
                await client.send_input(part)
            await sink.wait_for(b"abcd")
            assert client.channel.retransmissions >= 1


async def test_lost_and_reordered_output_arrives_in_order() -> None:
    async with FakeAgent(drop_first_outputs=1, reorder_outputs=True, greeting=b"") as agent:
        sink = Sink()
        async with client_for(agent, sink) as client:
            await agent.output(b"first ")
            await agent.output(b"second ")
            await agent.output(b"third")
            await sink.wait_for(b"third")
            assert bytes(sink.data) == b"first second third"
            assert client.session_type == "Standard_Stream"


async def test_garbage_frames_are_dropped_and_the_session_goes_on() -> None:
    async with FakeAgent() as agent:
        sink = Sink()
        async with client_for(agent, sink) as client:
            await client.wait_ready()
            assert agent._ws is not None
            await agent._ws.send(b"\x00" * 10)
            bad = bytearray(m.encode(m.ClientMessage(m.OUTPUT_STREAM_DATA, payload=b"x")))
            bad[-1] ^= 1
            await agent._ws.send(bytes(bad))
            await client.send_input(b"still alive")
            await sink.wait_for(b"still alive")


async def test_dropped_socket_resumes_and_loses_nothing() -> None:
    async with FakeAgent(drop_socket_after_inputs=2) as agent:
        sink = Sink()
        async with client_for(agent, sink, resume=agent.resume) as client:
            await client.wait_ready()
            for i in range(20):
                await client.send_input(b"%02d," % i)
            expected = b"".join(b"%02d," % i for i in range(20))
            await sink.wait_for(expected)
            assert agent.received_bytes() == expected
            assert client.reconnects == 1
        assert len(agent.opens) == 2
        assert agent.opens[0].client_id == agent.opens[1].client_id
        assert agent.opens[0].request_id != agent.opens[1].request_id
        assert agent.opens[0].token_value != agent.opens[1].token_value


async def test_paste_one_megabyte_keeps_the_window_full() -> None:
    data = os.urandom(1 << 20)
    async with FakeAgent(echo=False) as agent:
        async with client_for(agent, Sink()) as client:
            await client.wait_ready()
            peak = 0

            async def watch() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, client.channel.unacked)
                    await asyncio.sleep(0.001)

            watcher = asyncio.create_task(watch())
            await client.send_input(data)
            async with asyncio.timeout(30):
                while len(agent.received_bytes()) < len(data):
                    await asyncio.sleep(0.01)
            watcher.cancel()
        got = agent.received_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        assert peak > 1


async def test_unreachable_stream_url_fails_clearly() -> None:
    client = DataChannelClient(
        "ws://127.0.0.1:9/v1/data-channel/x", "tok", open_attempts=2, on_output=Sink()
    )
    with pytest.raises(SessionError, match="cannot open the session's data channel"):
        await client.start()


async def test_output_as_an_async_iterator() -> None:
    async with FakeAgent(greeting=b"hello ") as agent:
        async with DataChannelClient(agent.url, agent.token) as client:
            await client.send_input(b"world")
            await client.send_input(b"exit\r")
            chunks = [chunk async for chunk in client.output()]
            assert b"".join(chunks) == b"hello worldexit\r"
            assert await client.wait_closed() is None


async def test_a_session_that_cannot_be_resumed_ends_with_a_clear_error() -> None:
    async def ended() -> None:
        return None

    async with FakeAgent(drop_socket_after_inputs=1) as agent:
        async with client_for(agent, Sink(), resume=ended) as client:
            await client.wait_ready()
            await client.send_input(b"x")
            with pytest.raises(SessionError, match="timed out"):
                await client.wait_closed()
