"""Reliability and access rules of the server side: resend, resume, token, faults, transcripts."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from ssm_tui.plugin.messages import OUTPUT_STREAM_DATA, encode
from ssm_tui.sandbox import datachannel
from ssm_tui.sandbox.sessions import LoggingPrefs
from tests.datachannel.harness import ProtocolClient, ServerHarness
from tests.procs import alive


async def test_unacknowledged_output_is_resent_identically(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token, send_acks=False)
    try:

        def seq0_copies() -> list[bytes]:
            return [
                encode(m)
                for m in client.frames_seen
                if m.message_type == OUTPUT_STREAM_DATA and m.sequence_number == 0
            ]

        await client.pump(lambda: len(seq0_copies()) >= 3)
        copies = seq0_copies()
        assert copies[0] == copies[1] == copies[2]  # same MessageId, date and bytes
        # Acking now lets the stream carry on in order.
        client.send_acks = True
        for msg in [m for m in client.frames_seen if m.message_type == OUTPUT_STREAM_DATA]:
            result = client.channel.receive(msg)
            for frame in result.send:
                await client.websocket.send(frame)
            for delivered in result.deliver:
                await client._deliver(delivered)
        await client.type("echo resumed-$((2+3))\r")
        await client.wait_for_output(b"resumed-5")
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_dropped_socket_keeps_the_shell_for_resume(server: ServerHarness) -> None:
    session = server.new_session()
    url = server.stream_url(session)
    client = await ProtocolClient.open(url, session.token)
    await client.wait_for_output(b"$ ")
    await client.type("export MARK=kept-$((40+2))\r")
    await client.wait_for_output(b"export MARK")
    next_expected = client.channel.expected_seq
    await client.websocket.close()  # dropped without channel_closed
    # Output produced while nobody is connected waits for the client.
    old_token = session.token
    new_token = server.registry.resume(session.session_id)
    assert new_token is not None and new_token != old_token
    await client.reconnect(url, new_token)
    await client.type("echo $MARK\r")
    await client.wait_for_output(b"kept-42\r\n")
    assert client.channel.expected_seq > next_expected  # sequence numbers carried on
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)


async def test_old_token_is_refused_after_resume(server: ServerHarness) -> None:
    session = server.new_session()
    old = session.token
    assert server.registry.resume(session.session_id)
    client = await ProtocolClient.open(server.stream_url(session), old)
    with pytest.raises(ConnectionClosed) as closed:
        await client.websocket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    server.registry.terminate(session.session_id)


async def test_wrong_token_is_refused_and_the_session_survives(server: ServerHarness) -> None:
    session = server.new_session()
    intruder = await ProtocolClient.open(server.stream_url(session), "not-the-token")
    with pytest.raises(ConnectionClosed):
        await intruder.websocket.recv()
    assert session.active
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_ended_session_refuses_connections(server: ServerHarness) -> None:
    session = server.new_session()
    server.registry.terminate(session.session_id)
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    with pytest.raises(ConnectionClosed):
        await client.websocket.recv()


async def test_drop_fault_cuts_the_socket_and_resume_continues(server: ServerHarness) -> None:
    session = server.new_session()
    url = server.stream_url(session)
    client = await ProtocolClient.open(url, session.token)
    await client.wait_for_output(b"$ ")  # after the agent's 1 s start delay
    server.faults.update({"drop_sessions_after": 0.5})
    try:
        with pytest.raises(ConnectionClosed):
            await client.pump(lambda: False, timeout=10)
        assert session.active  # the fault drops the socket, not the session
    finally:
        server.faults.reset()
    token = server.registry.resume(session.session_id)
    assert token
    await client.reconnect(url, token)
    await client.type("echo still-$((3*3))\r")
    await client.wait_for_output(b"still-9")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)


async def test_transcript_is_written_when_the_shell_ends(server: ServerHarness) -> None:
    prefs = LoggingPrefs(log_group="/ssm/sessions", s3_bucket="acme-audit", s3_prefix="sessions/")
    session = server.new_session(logging=prefs)
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    await client.type("printf 'line-one\\n\\033[31mred\\033[0m\\n'\r")
    await client.wait_for_output(b"red")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)
    key = ("111111111111", "acme-audit", f"sessions/{session.session_id}.log")
    body = server.context.objects[key]
    assert b"line-one\r\n" in body
    assert b"\x1b[31mred\x1b[0m" in body  # raw: escape sequences kept
    events = server.context.log_events[
        ("111111111111", "us-east-1", "/ssm/sessions", session.session_id)
    ]
    messages = [message for _, message in events]
    assert any("line-one\r\n" in message for message in messages)
    assert all(message.endswith("\n") for message in messages[:-1])  # whole lines per event
    assert "".join(messages).encode() == body
    stamps = [stamp for stamp, _ in events]
    assert stamps == sorted(stamps)
    assert set(session.output_url) == {"S3OutputUrl", "CloudWatchOutputUrl"}
    assert "acme-audit" in session.output_url["S3OutputUrl"]


async def test_no_logging_preferences_writes_nothing(server: ServerHarness) -> None:
    session = server.new_session(logging=None)
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    await client.type("exit\r")
    await client.pump(lambda: client.closed is not None)
    assert session.output_url == {}
    assert not any(key[-1].startswith(session.session_id) for key in server.context.objects)


async def test_large_output_arrives_complete_and_in_order(server: ServerHarness) -> None:
    session = server.new_session("AWS-StartNonInteractiveCommand", {"command": ["seq 1 200000"]})
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None, timeout=60)
    lines = bytes(client.output).split(b"\n")  # no pty for NonInteractiveCommands: no CR
    assert lines[0] == b"1" and lines[199_999] == b"200000"
    assert [int(x) for x in lines[:200_000]] == list(range(1, 200_001))
    assert client.exit_code is None  # the AWS document sets no separateOutputStream
    assert all(len(p) <= 1024 for kind, p in client.payloads)


async def test_garbage_frames_are_dropped_without_ending_the_session(
    server: ServerHarness,
) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
        await client.websocket.send(b"\x00" * 10)
        await client.websocket.send(b"garbage" * 40)
        await asyncio.sleep(0)
        await client.type("echo alive-$((5+5))\r")
        await client.wait_for_output(b"alive-10")
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_output_waits_for_a_dropped_client_and_arrives_complete(
    server: ServerHarness,
) -> None:
    session = server.new_session("AWS-StartNonInteractiveCommand", {"command": ["seq 1 300000"]})
    url = server.stream_url(session)
    client = await ProtocolClient.open(url, session.token)
    await client.wait_for_output(b"\n1000\n")
    await client.websocket.close()  # mid-stream: the sender must wait, not lose output
    await asyncio.sleep(0.3)
    assert session.active
    token = server.registry.resume(session.session_id)
    assert token
    await client.reconnect(url, token)
    await client.pump(lambda: client.closed is not None, timeout=60)
    numbers = bytes(client.output).split(b"\n")[:300_000]
    assert [int(n) for n in numbers] == list(range(1, 300_001))
    assert client.exit_code is None


async def test_idle_session_times_out(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datachannel, "IDLE_TIMEOUT", 1.5)
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.wait_for_output(b"$ ")
    await client.pump(lambda: client.closed is not None, timeout=20)
    assert "inactivity" in (client.closed or "")
    assert session.status == "Terminated"


async def test_shutdown_closes_channels_and_leaves_no_process(tmp_path: Path) -> None:
    harness = ServerHarness(tmp_path).start()
    try:
        session = harness.new_session()
        client = await ProtocolClient.open(harness.stream_url(session), session.token)
        await client.wait_for_output(b"$ ")
        await client.type("sleep 300 & echo job-$!-started\r")
        pattern = re.compile(rb"job-(\d+)-started")
        await client.pump(lambda: pattern.search(client.output) is not None)
        match = pattern.search(client.output)
        assert match is not None
        pid = int(match.group(1))
        assert alive(pid)
        ending = asyncio.run_coroutine_threadsafe(datachannel.shutdown(), harness.loop)
        await client.pump(lambda: client.closed is not None)
        await asyncio.wrap_future(ending)
        assert "shutting down" in (client.closed or "")
        assert not alive(pid)
        assert not session.active
    finally:
        harness.stop()
