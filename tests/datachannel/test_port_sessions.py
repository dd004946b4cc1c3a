"""Port-forwarding sessions: the agent side of smux v1, and the plain stream of AWS-StartSSHSession.

The targets are real TCP servers on loopback; the client side speaks smux with the shared
`ssm_tui.plugin.smux` framing over the data channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ssm_tui.plugin.messages import PayloadFlag, PayloadType
from ssm_tui.plugin.smux import SmuxClient
from tests.datachannel.harness import ProtocolClient, ServerHarness


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """A TCP echo server that answers `upper(data)` and closes when its client does."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_port_forwarding_multiplexes_two_connections(
    server: ServerHarness, echo_port: int
) -> None:
    session = server.new_session(
        "AWS-StartPortForwardingSession",
        {"portNumber": [str(echo_port)], "localPortNumber": ["0"]},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    mux = SmuxClient()
    received: dict[int, bytearray] = {}
    finished: set[int] = set()
    consumed = 0

    def drain() -> None:
        nonlocal consumed
        for event in mux.feed(bytes(client.output[consumed:])):
            received.setdefault(event.stream_id, bytearray()).extend(event.data)
            if event.fin:
                finished.add(event.stream_id)
        consumed = len(client.output)

    try:
        await client.pump(lambda: client.handshake_complete)
        assert client.handshake is not None
        assert client.handshake.session_type == "Port"
        assert client.handshake.properties["type"] == "LocalPortForwarding"
        assert client.handshake.properties["portNumber"] == str(echo_port)
        first, syn1 = mux.open()
        second, syn2 = mux.open()
        await client.type(syn1 + syn2)
        await client.type(mux.data(first, b"alpha ") + mux.data(second, b"beta "))
        big = bytes(range(97, 123)) * 4000  # 104 000 bytes through one stream
        await client.type(mux.data(second, big))
        await client.type(mux.data(first, b"omega"))

        def done() -> bool:
            drain()
            return received.get(first, b"") == b"ALPHA OMEGA" and len(
                received.get(second, b"")
            ) == 5 + len(big)

        await client.pump(done, timeout=30)
        assert bytes(received[second]) == b"BETA " + big.upper()
        await client.type(mux.close(first))

        def first_closed() -> bool:
            drain()
            return first in finished

        await client.pump(first_closed)  # the echo server closed: the agent sent FIN back
        assert second not in finished
        await client.send(PayloadType.FLAG, PayloadFlag.TERMINATE_SESSION.to_bytes(4, "big"))
        await client.pump(lambda: client.closed is not None)
        assert not session.active
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_unreachable_port_reports_connect_to_port_error(server: ServerHarness) -> None:
    port = _free_port()
    session = server.new_session(
        "AWS-StartPortForwardingSessionToRemoteHost",
        {"portNumber": [str(port)], "host": ["db.internal.example"]},
    )
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    mux = SmuxClient()
    try:
        await client.pump(lambda: client.handshake_complete)
        assert client.handshake is not None
        assert client.handshake.properties["host"] == "db.internal.example"
        stream, syn = mux.open()
        await client.type(syn + mux.data(stream, b"hello"))
        fins: set[int] = set()

        def failed() -> bool:
            fins.update(e.stream_id for e in mux.feed(bytes(client.output)) if e.fin)
            client.output.clear()
            return stream in fins

        await client.pump(failed)
        assert PayloadFlag.CONNECT_TO_PORT_ERROR in client.flags
        assert session.active  # one failed stream does not end the session
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_ssh_session_is_a_plain_stream(server: ServerHarness, echo_port: int) -> None:
    session = server.new_session("AWS-StartSSHSession", {"portNumber": [str(echo_port)]})
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    try:
        await client.pump(lambda: client.handshake_complete)
        assert client.handshake is not None
        assert client.handshake.session_type == "Port"
        assert "type" not in client.handshake.properties  # not LocalPortForwarding: no smux
        await client.type(b"ssh-2.0-probe\n")
        await client.wait_for_output(b"SSH-2.0-PROBE\n")
        # DisconnectToPort closes the target; the next bytes dial it again.
        await client.send(PayloadType.FLAG, PayloadFlag.DISCONNECT_TO_PORT.to_bytes(4, "big"))
        await client.type(b"again\n")
        await client.wait_for_output(b"AGAIN\n")
    finally:
        await client.close()
        server.registry.terminate(session.session_id)


async def test_ssh_session_to_a_closed_port_fails_clearly(server: ServerHarness) -> None:
    session = server.new_session("AWS-StartSSHSession", {"portNumber": [str(_free_port())]})
    client = await ProtocolClient.open(server.stream_url(session), session.token)
    await client.pump(lambda: client.closed is not None)
    assert client.flags == [PayloadFlag.CONNECT_TO_PORT_ERROR]
    assert "connect" in (client.closed or "").lower()
    assert not session.active
