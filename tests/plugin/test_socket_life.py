"""The socket's life, client side, through real websockets: dead links, refused endpoints, TLS
trust from AWS_CA_BUNDLE or the profile, HTTPS_PROXY, SigV4 on the upgrade, hostile frames."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.client import DataChannelClient, SessionError
from ssm_tui.plugin.wsconnect import socket_options
from tests.plugin.fake_agent import FakeAgent
from tests.plugin.netparts import Relay, self_signed, server_context
from tests.plugin.test_client import Sink


def _relayed(agent: FakeAgent, relay: Relay) -> str:
    return agent.url.replace(f":{agent.port}/", f":{relay.port}/")


async def test_a_dead_link_is_noticed_by_ping_and_the_session_resumes() -> None:
    """The relay goes silent (no FIN): without a ping timeout the client would wait for ever."""
    async with FakeAgent() as agent, Relay(0) as relay:
        relay.target_port = agent.port
        url = _relayed(agent, relay)

        async def resume() -> tuple[str, str | None]:
            token, _ = await agent.resume()
            return token, url

        sink = Sink()
        statuses: list[str] = []
        client = DataChannelClient(
            url,
            agent.token,
            session_id="s-fake",
            on_output=sink,
            resume=resume,
            on_status=statuses.append,
            ping_interval=0.3,
            ping_timeout=0.6,
        )
        async with client:
            await client.wait_ready()
            await client.send_input(b"before,")
            await sink.wait_for(b"before,")
            relay.freeze()
            await client.send_input(b"during,")  # sent into the dead link: must not be lost
            async with asyncio.timeout(30):
                while not client.reconnects:
                    await asyncio.sleep(0.05)
            await client.send_input(b"after")
            await sink.wait_for(b"before,during,after")
        assert agent.received_bytes() == b"before,during,after"  # nothing lost or doubled
        assert any("no answer to pings" in s for s in statuses), statuses
        assert any(s.startswith("reconnected") for s in statuses)


async def test_an_endpoint_that_refuses_connections_ends_the_session_with_a_reason() -> None:
    """The service is gone (the sandbox was killed): give up after the refused budget."""
    async with FakeAgent(drop_socket_after_inputs=1) as agent:
        gone = agent.url.replace(f":{agent.port}/", ":9/")  # nothing listens on port 9

        async def resume() -> tuple[str, str | None]:
            token, _ = await agent.resume()
            return token, gone

        statuses: list[str] = []
        async with DataChannelClient(
            agent.url,
            agent.token,
            session_id="s-fake",
            on_output=Sink(),
            resume=resume,
            on_status=statuses.append,
            refused_budget=0.5,
        ) as client:
            await client.wait_ready()
            await client.send_input(b"x")
            with pytest.raises(SessionError, match="refused every connection"):
                await client.wait_closed()
        assert statuses[0].startswith("reconnecting…")


async def test_resume_failures_are_retried_until_the_session_comes_back() -> None:
    """ResumeSession failing for a while (throttled, network) is not the end of the session."""
    async with FakeAgent(drop_socket_after_inputs=1) as agent:
        failures = 3

        async def flaky_resume() -> tuple[str, str | None]:
            nonlocal failures
            if failures:
                failures -= 1
                raise TimeoutError("ResumeSession did not answer")
            return await agent.resume()

        sink = Sink()
        async with DataChannelClient(
            agent.url, agent.token, session_id="s-fake", on_output=sink, resume=flaky_resume
        ) as client:
            await client.wait_ready()
            await client.send_input(b"one,")
            await client.send_input(b"two")
            await sink.wait_for(b"one,two", timeout=30)
            assert client.reconnects == 1
        assert failures == 0


# --- TLS trust, proxy, SigV4 ---------------------------------------------------------------------


def _options():
    async def options(url: str) -> dict:
        return await socket_options(url, None, "eu-west-1")

    return options


async def test_tls_websocket_trusts_aws_ca_bundle_and_signs_the_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    async with FakeAgent(ssl=server_context(cert, key), host="localhost") as agent:
        # the system trust store does not know our certificate: the dial fails, clearly
        refused = DataChannelClient(
            agent.url, agent.token, on_output=Sink(), connect_options=_options(), open_attempts=1
        )
        with pytest.raises(SessionError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
            await refused.start()
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        sink = Sink()
        async with DataChannelClient(
            agent.url, agent.token, on_output=sink, connect_options=_options()
        ) as client:
            await client.wait_ready()
            await client.send_input(b"over tls")
            await sink.wait_for(b"over tls")
    headers = agent.request_headers[-1]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/ssmmessages/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers


async def test_tls_websocket_trusts_the_profiles_ca_bundle(
    tmp_path: Path, clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    config = clean_aws_env / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[default]\nregion = eu-west-1\nca_bundle = {cert}\n")
    monkeypatch.setenv("SSM_TUI_SIGN_WEBSOCKET", "0")
    async with FakeAgent(ssl=server_context(cert, key), host="localhost") as agent:
        sink = Sink()
        async with DataChannelClient(
            agent.url, agent.token, on_output=sink, connect_options=_options()
        ) as client:
            await client.wait_ready()
            await client.send_input(b"profile bundle")
            await sink.wait_for(b"profile bundle")
    assert "authorization" not in agent.request_headers[-1]


async def test_websocket_goes_through_https_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name only the proxy can resolve: the client must tunnel, as aws-cli would."""
    host = "ssmmessages.eu-west-1.example.invalid"
    cert, key = self_signed(tmp_path, host)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("SSM_TUI_SIGN_WEBSOCKET", "0")
    async with FakeAgent(ssl=server_context(cert, key), host=host) as agent:
        async with Relay(agent.port, connect_proxy=True) as proxy:
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
            sink = Sink()
            async with DataChannelClient(
                agent.url, agent.token, on_output=sink, connect_options=_options()
            ) as client:
                await client.wait_ready()
                await client.send_input(b"via proxy")
                await sink.wait_for(b"via proxy")
    assert proxy.connects == [f"{host}:{agent.port}"]


async def test_loopback_never_goes_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """As Go's dialer in the official plugin: the sandbox on 127.0.0.1 is reached directly."""
    async with FakeAgent() as agent, Relay(agent.port, connect_proxy=True) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        sink = Sink()
        async with DataChannelClient(
            agent.url, agent.token, on_output=sink, connect_options=_options()
        ) as client:
            await client.wait_ready()
            await client.send_input(b"direct")
            await sink.wait_for(b"direct")
    assert proxy.accepted == 0


async def test_missing_ca_bundle_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", "/nonexistent/bundle.pem")
    client = DataChannelClient(
        "wss://localhost:9/v1/data-channel/x", "tok", on_output=Sink(), connect_options=_options()
    )
    with pytest.raises(SessionError, match="cannot use the CA bundle /nonexistent/bundle.pem"):
        await client.start()


# --- hostile frames at the client -----------------------------------------------------------------


@pytest.mark.slow
async def test_hostile_frames_at_the_client_end_lose_nothing_and_hold_little() -> None:
    """Garbage, truncated, wrong-digest, 300 out-of-order 1 MiB and oversize frames."""
    async with FakeAgent() as agent:
        sink = Sink()
        async with DataChannelClient(
            agent.url, agent.token, session_id="s-fake", on_output=sink, resume=agent.resume
        ) as client:
            await client.wait_ready()
            ws = agent._ws
            good = m.encode(
                m.stream_message(m.OUTPUT_STREAM_DATA, 10_000, m.PayloadType.OUTPUT, b"x")
            )
            await ws.send(os.urandom(500))  # garbage
            await ws.send(good[: len(good) // 2])  # truncated
            wrong = bytearray(good)
            wrong[-1] ^= 0xFF
            await ws.send(bytes(wrong))  # wrong digest
            big = b"B" * (1 << 20)
            for seq in range(1000, 1300):  # far ahead of the expected sequence number
                await ws.send(
                    m.encode(m.stream_message(m.OUTPUT_STREAM_DATA, seq, m.PayloadType.OUTPUT, big))
                )
            await client.send_input(b"still here")
            await sink.wait_for(b"still here")
            assert client.channel.buffered_bytes <= client.channel.max_buffer_bytes
            assert client.channel.refused > 0
            await ws.send(b"\0" * (17 << 20))  # beyond max_size: the socket closes, we resume
            async with asyncio.timeout(30):
                while not client.reconnects:
                    await asyncio.sleep(0.05)
            await client.send_input(b" and after")
            await sink.wait_for(b"still here and after")
        assert agent.received_bytes() == b"still here and after"
