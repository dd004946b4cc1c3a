"""The sandbox's agent is no kinder than the real one (amazon-ssm-agent `agent/session/...`)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from ssm_tui.plugin.channel import Channel
from ssm_tui.plugin.client import DataChannelClient
from ssm_tui.plugin.messages import (
    ACKNOWLEDGE,
    INPUT_STREAM_DATA,
    OUTPUT_STREAM_DATA,
    PayloadType,
    encode_stream,
    parse_ack,
    size_payload,
)
from ssm_tui.sandbox import datachannel
from tests.clients import Sink
from tests.datachannel.harness import ProtocolClient, ServerHarness


async def test_shell_session_is_sh_with_xterm_256color(server: ServerHarness) -> None:
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
        await client.type('echo "shell=$0 term=$TERM" | tr a-z A-Z\r')
        await client.wait_for_output(b"/SH TERM=XTERM-256COLOR\r\n")  # /usr/bin/sh: ptyprocess
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_input_sent_during_the_handshake_is_acked_and_dropped(
    server: ServerHarness,
) -> None:
    received = bytearray()
    got = asyncio.Event()

    async def target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            received.extend(data)
            got.set()
        writer.close()

    listener = await asyncio.start_server(target, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    session = server.new_session("AWS-StartSSHSession", {"portNumber": [str(port)]})
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.type(b"early-bytes")  # before our HandshakeResponse: the agent drops it
        await client.pump(lambda: client.handshake_complete)
        await client.pump(lambda: client.channel.idle)  # our early message was acked
        await client.type(b"late-bytes")
        await client.pump(lambda: got.is_set() and received.endswith(b"late-bytes"))
        assert bytes(received) == b"late-bytes"
    finally:
        await client.close()
        server.registry.terminate(session.session_id)
        listener.close()
        with contextlib.suppress(Exception):
            await listener.wait_closed()


async def test_non_interactive_output_has_no_carriage_returns(server: ServerHarness) -> None:
    session = server.new_session(
        "AWS-StartNonInteractiveCommand", {"command": ["printf 'one\\ntwo\\n'"]}
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    stdout = b"".join(p for kind, p in client.payloads if kind == PayloadType.OUTPUT)
    assert stdout == b"one\ntwo\n"


async def test_input_is_acked_only_once_the_pty_has_taken_it(
    server: ServerHarness, tmp_path: Path
) -> None:
    """The agent writes input to the pty (a blocking write) and acks it after: while nothing
    reads the pty, input stays unacked, resends included (`datachannel.go`
    handleStreamDataMessage, `shell_unix.go` InputStreamMessageHandler)."""
    go = tmp_path / "go"
    size = 400 * 1024  # far beyond what a pty buffers
    session = server.new_session()
    client = await ProtocolClient.open(
        server.stream_url(session), session.token, channel=Channel.for_client(window=1024)
    )
    try:
        await client.wait_for_output(b"$ ")
        await client.type(
            f"stty raw -echo; echo RA''W; until [ -e {go} ]; do sleep 0.1; done; "
            f"head -c {size} >/dev/null; stty sane; echo TA''KEN\r"
        )
        await client.wait_for_output(b"RAW")  # no echo from here on (else a race under load)
        await client.pump(lambda: client.channel.idle)
        for _ in range(size // 1024):
            await client.type(b"x" * 1024)
        with pytest.raises(TimeoutError):  # nobody reads the pty: the acks stop
            await client.pump(lambda: client.channel.idle, timeout=3)
        assert client.channel.unacked > 0
        assert client.channel.retransmissions > 0  # and the resends were not acked either
        go.touch()
        await client.wait_for_output(b"TAKEN", timeout=60)
        await client.pump(lambda: client.channel.idle)
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_the_pty_has_the_size_the_client_sent_and_none_before(server: ServerHarness) -> None:
    """The agent starts the shell with `pty.Start` (no size: the kernel's 0x0) and its `SetSize`
    applies every Size message as it is, 0x0 included, as uint16 (`shell_unix.go`): a client
    that sends no size, or 0x0, gets a pty of no width on AWS, so it must not here either."""
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.wait_for_output(b"$ ")
        await client.type("echo size=$(stty size)\r")
        await client.wait_for_output(b"size=0 0\r\n")
        await client.resize(cols=132, rows=43)
        mark = len(client.output)
        await client.type("echo size=$(stty size)\r")
        await client.wait_for_output(b"size=43 132\r\n", start=mark)
        await client.resize(cols=0, rows=0)
        mark = len(client.output)
        await client.type("echo size=$(stty size)\r")
        await client.wait_for_output(b"size=0 0\r\n", start=mark)
        await client.resize(cols=65536 + 100, rows=65536 + 30)  # uint32 on the wire, uint16 here
        mark = len(client.output)
        await client.type("echo size=$(stty size)\r")
        await client.wait_for_output(b"size=30 100\r\n", start=mark)
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def _read_until_first_output(client: ProtocolClient) -> None:
    """Read (acking output, resending nothing) until the shell's first output arrives."""
    async with asyncio.timeout(30):  # a guard against hanging, not a speed check
        while not any(m.message_type == OUTPUT_STREAM_DATA for m in client.frames_seen):
            await client._handle_frame(await client.websocket.recv())


async def test_input_before_the_pty_exists_is_not_acked_and_not_consumed(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until its pty exists the agent's shell handler returns ErrHandlerNotReady: the message
    is neither acked nor counted (`ExpectedSequenceNumber` stays), so the client's resend of
    it is the one handled (`shell_unix.go` InputStreamMessageHandler, `datachannel.go`
    handleStreamDataMessage)."""
    monkeypatch.setattr(datachannel, "PTY_START_DELAY", 1.0)
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.type("echo $((6*7))-early\r")  # seq 0, before the pty
        await client.resize(cols=100, rows=30)  # seq 1: after seq 0, so buffered and acked
        await _read_until_first_output(client)
        acked = [m for m in client.frames_seen if m.message_type == ACKNOWLEDGE]
        assert [parse_ack(m.payload) for m in acked] == [1]  # not seq 0
        assert client.channel.unacked == 1  # seq 0 waits for its resend
        await client.wait_for_output(b"42-early")  # `pump` resends on the RTO
        await client.type("echo size=$(stty size) done-$((1+1))\r")
        await client.wait_for_output(b"done-2")
        assert client.output.count(b"42-early") == 1
        assert b"size=30 100 " in client.output  # seq 1 handled after the resent seq 0
        await client.pump(lambda: client.channel.idle)
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_our_client_delivers_input_typed_before_the_pty_once(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keystrokes typed before the pty exists are refused unacked; our client resends its
    unacked head on its RTO, so they still arrive, exactly once."""
    monkeypatch.setattr(datachannel, "PTY_START_DELAY", 1.0)
    session = server.new_session()
    sink = Sink()
    client = DataChannelClient(
        server.stream_url(session), session.token, session_id=session.session_id, on_output=sink
    )
    async with client:
        await client.resize(100, 30)
        await client.send_input(b"echo $((6*7))-ea''rly\r")
        await client.send_input(b"echo size=$(stty size) done-$((1+1))\r")
        await sink.wait_for(b"done-2", timeout=30)
        assert sink.data.count(b"42-early") == 1
        assert b"size=30 100 " in sink.data
        assert client.channel.retransmissions > 0  # the early ones came back as resends
        await client.send_input(b"exit\r")
        assert await client.wait_closed() is None


async def test_a_size_that_does_not_unmarshal_is_not_acked(server: ServerHarness) -> None:
    """The agent's shell handler returns the json.Unmarshal error of a bad Size, and its data
    channel neither acks nor counts the message (`shell_unix.go` InputStreamMessageHandler,
    `datachannel.go` handleStreamDataMessage): what follows is acked and buffered behind it."""
    session = server.new_session()
    client = await ProtocolClient.open(server.stream_url(session), session.token)

    def acked() -> set[int]:
        return {parse_ack(m.payload) for m in client.frames_seen if m.message_type == ACKNOWLEDGE}

    try:
        await client.wait_for_output(b"$ ")
        await client.pump(lambda: client.channel.idle)
        bad = client.channel.next_seq
        await client.send(PayloadType.SIZE, b'{"cols": "wide", "rows": 30}')
        await client.type("echo size=$(stty size) done-$((1+1))\r")  # bad + 1
        await client.pump(lambda: bad + 1 in acked())  # the sandbox has read both by now
        assert bad not in acked()
        assert client.channel.unacked == 1
        # Its number was not used up: a valid Size under it is handled, then what waited.
        frame = encode_stream(INPUT_STREAM_DATA, bad, PayloadType.SIZE, size_payload(100, 30))
        await client.websocket.send(frame)
        await client.wait_for_output(b"done-2")
        assert b"size=30 100 " in client.output
        await client.pump(lambda: client.channel.idle)
    finally:
        await client.close()
        server.registry.terminate(session.session_id)
