"""The socket's life, server side: hourly close 1000, outages, latency, hostile frames."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ssm_tui.demo import SandboxProcess
from ssm_tui.plugin import messages as m
from ssm_tui.plugin.channel import MAX_BUFFER_BYTES
from ssm_tui.sandbox import datachannel
from tests.datachannel.harness import ProtocolClient, ServerHarness

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture
def ssm(sandbox_env: SandboxProcess) -> Any:
    return boto3.Session(profile_name="sandbox").client("ssm", config=NO_RETRY)


def _target(ssm: Any) -> str:
    infos = ssm.describe_instance_information(
        Filters=[
            {"Key": "PingStatus", "Values": ["Online"]},
            {"Key": "PlatformTypes", "Values": ["Linux"]},
        ]
    )["InstanceInformationList"]
    return sorted(info["InstanceId"] for info in infos)[0]


def _cell(url: str) -> str:
    return parse_qs(urlsplit(url).query)["cell-number"][0]


async def test_socket_lifetime_closes_with_1000_and_resume_gives_a_new_url_and_token(
    ssm: Any, sandbox_env: SandboxProcess
) -> None:
    started = ssm.start_session(Target=_target(ssm))
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.wait_for_output(b"$ ")
    await client.type("export KEPT=life-$((2+2))\r")
    await client.wait_for_output(b"export KEPT")
    sandbox_env.set_faults(socket_lifetime=0.5)
    try:
        with pytest.raises(ConnectionClosed):
            await client.pump(lambda: False, timeout=20)
        assert client.websocket.close_code == 1000  # a clean close, as AWS does hourly
        resumed = ssm.resume_session(SessionId=started["SessionId"])
    finally:
        sandbox_env.reset_faults()
    assert resumed["TokenValue"] != started["TokenValue"]
    assert resumed["StreamUrl"] != started["StreamUrl"]
    assert _cell(resumed["StreamUrl"]) != _cell(started["StreamUrl"])
    # the old token stops working at once
    stale = await ProtocolClient.open(resumed["StreamUrl"], started["TokenValue"])
    with pytest.raises(ConnectionClosed):
        await stale.pump(lambda: False, timeout=10)
    assert stale.websocket.close_code == 1008
    await client.reconnect(resumed["StreamUrl"], resumed["TokenValue"])
    await client.type("echo $KEPT\r")
    await client.wait_for_output(b"life-4\r\n")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)


async def test_outage_refuses_every_open_and_cuts_open_sockets(
    ssm: Any, sandbox_env: SandboxProcess
) -> None:
    started = ssm.start_session(Target=_target(ssm))
    client = await ProtocolClient.open(started["StreamUrl"], started["TokenValue"])
    await client.wait_for_output(b"$ ")
    try:
        faults = sandbox_env.set_faults(data_channel_outage=2)
        assert 0 < faults["data_channel_outage"] <= 2
        with pytest.raises(ConnectionClosed):
            await client.pump(lambda: False, timeout=10)
        resumed = ssm.resume_session(SessionId=started["SessionId"])  # the API still answers
        with pytest.raises(InvalidStatus) as refused:
            await ProtocolClient.open(resumed["StreamUrl"], resumed["TokenValue"])
        assert refused.value.response.status_code == 503
        while sandbox_env.faults()["data_channel_outage"] is not None:
            await asyncio.sleep(0.1)
    finally:
        sandbox_env.reset_faults()
    await client.reconnect(resumed["StreamUrl"], resumed["TokenValue"])
    await client.type("echo back-$((3*3))\r")
    await client.wait_for_output(b"back-9\r\n")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)


async def test_latency_fault_delays_every_frame_both_ways(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
        server.faults.update({"data_channel_latency": 150})
        await asyncio.sleep(0.2)
        start = time.monotonic()
        await client.type("echo rtt-$((5+5))\r")
        await client.wait_for_output(b"rtt-10\r\n")
        # a lower bound only: the injected delay can only add (input 150 ms + output 150 ms)
        assert time.monotonic() - start >= 0.3
    finally:
        server.faults.reset()
        await client.close()
        server.registry.terminate(session.session_id)


async def test_hostile_frames_at_the_server_end_are_dropped_and_memory_stays_bounded(
    server: ServerHarness,
) -> None:
    """Garbage, truncated, wrong-digest, 300 out-of-order 1 MiB frames and one oversize frame."""
    session = server.new_session()
    url = server.stream_url(session)
    client = await ProtocolClient.open(url, session.token)
    try:
        await client.wait_for_output(b"$ ")
        good = m.encode(m.stream_message(m.INPUT_STREAM_DATA, 50_000, m.PayloadType.OUTPUT, b"x"))
        await client.websocket.send(os.urandom(700))
        await client.websocket.send(good[:60])
        wrong = bytearray(good)
        wrong[-1] ^= 0xFF
        await client.websocket.send(bytes(wrong))
        big = b"B" * (1 << 20)
        first = client.channel.next_seq + 10
        for seq in range(first, first + 300):
            frame = m.stream_message(m.INPUT_STREAM_DATA, seq, m.PayloadType.OUTPUT, big)
            await client.websocket.send(m.encode(frame))
        await client.type("echo alive-$((1+1))\r")
        await client.wait_for_output(b"alive-2\r\n", timeout=30)
        runtime = datachannel._RUNTIMES[session.session_id]
        assert runtime.channel.buffered_bytes <= MAX_BUFFER_BYTES
        assert runtime.channel.refused > 0
        # beyond the server's frame limit: the socket closes, the session does not
        with pytest.raises(ConnectionClosed):
            await client.websocket.send(b"\0" * (17 << 20))
            await client.pump(lambda: False, timeout=20)
        assert session.active
        await client.reconnect(url, server.registry.resume(session.session_id))
        await client.type("echo still-$((2+1))\r")
        await client.wait_for_output(b"still-3\r\n")
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


def test_the_socket_faults_have_command_line_flags() -> None:
    from ssm_tui.sandbox.__main__ import build_parser

    args = build_parser().parse_args(
        ["--socket-lifetime", "3600", "--data-channel-outage", "30", "--data-channel-latency", "25"]
    )
    assert (args.socket_lifetime, args.data_channel_outage, args.data_channel_latency) == (
        3600.0,
        30.0,
        25,
    )
