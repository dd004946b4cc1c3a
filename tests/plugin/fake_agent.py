"""A small data-channel server on loopback, built on our own codec and Channel (server end).

It lets the client be tested through a real websocket before (and beside) the sandbox's data
channel: it can echo, run a handshake, ask for KMS, lose or reorder frames, drop the socket, send an
exit code, and run an smux server that dials a local TCP port per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import struct
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve

from ssm_tui.plugin import messages as m
from ssm_tui.plugin.channel import Channel

SMUX = struct.Struct("<BBHI")


@dataclass
class FakeAgent:
    session_type: str | None = None
    """None: no handshake (a plain shell); else the SessionType to request."""
    properties: dict | None = None
    agent_version: str = "3.3.1000.0"
    kms: bool = False
    greeting: bytes = b"fake$ "
    ignore_first_inputs: int = 0
    """Drop this many incoming stream messages unacked (the client must retransmit)."""
    drop_first_outputs: int = 0
    """Do not write the first transmission of this many outputs (our channel resends them)."""
    reorder_outputs: bool = False
    drop_socket_after_inputs: int | None = None
    """Abort the socket (no close frame) once, after this many delivered inputs."""
    exit_code: int | None = None
    """NonInteractiveCommands: send this ExitCode and close after the handshake."""
    command_output: bytes = b""
    port_target: int | None = None
    """The local port an smux stream dials (Port sessions)."""
    echo: bool = True
    ssl: object = None
    """An `ssl.SSLContext` to serve wss:// instead of ws://."""
    host: str = "127.0.0.1"
    """The host name the URL carries (the socket always listens on 127.0.0.1)."""
    request_headers: list[dict[str, str]] = field(default_factory=list)
    """The upgrade request's headers, per connection."""
    tokens: set[str] = field(default_factory=set)
    opens: list[m.OpenDataChannel] = field(default_factory=list)
    inputs: list[tuple[int, bytes]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    handshake_response: m.HandshakeResponse | None = None
    bad_frames: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.token = secrets.token_hex(8)
        self.tokens.add(self.token)
        self.channel = Channel.for_server(window=64)
        self._ws: ServerConnection | None = None
        self._dropped = False
        self._started = False
        self._server = None
        self._smux_buffer = bytearray()
        self._streams: dict[int, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task] = set()
        self._held: list[bytes] = []

    async def __aenter__(self) -> FakeAgent:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, compression=None, ssl=self.ssl, max_size=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        scheme = "wss" if self.ssl is not None else "ws"
        self.url = (
            f"{scheme}://{self.host}:{self.port}/v1/data-channel/s-fake?role=publish_subscribe"
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        for writer in self._streams.values():
            writer.close()
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    def response(self) -> dict[str, str]:
        return {"SessionId": "s-fake", "TokenValue": self.token, "StreamUrl": self.url}

    async def resume(self) -> tuple[str, str | None]:
        self.token = secrets.token_hex(8)
        self.tokens.add(self.token)
        return self.token, None

    def received_bytes(self) -> bytes:
        return b"".join(p for t, p in self.inputs if t == m.PayloadType.OUTPUT)

    # --- sending --------------------------------------------------------------------------------

    async def _write(self, frames: list[bytes]) -> None:
        ws = self._ws
        for frame in frames:
            if self.drop_first_outputs and m.decode(frame).message_type == m.OUTPUT_STREAM_DATA:
                self.drop_first_outputs -= 1
                continue
            if self.reorder_outputs and m.decode(frame).message_type == m.OUTPUT_STREAM_DATA:
                if not self._held:
                    self._held.append(frame)
                    continue
                frames_now = [frame, *self._held]
                self._held.clear()
                self.reorder_outputs = False
            else:
                frames_now = [frame]
            if ws is None:
                return
            with contextlib.suppress(Exception):
                for f in frames_now:
                    await ws.send(f)

    async def output(self, payload: bytes, ptype: int = m.PayloadType.OUTPUT) -> None:
        for i in range(0, max(len(payload), 1), m.MAX_CHUNK):
            await self._write(self.channel.send(ptype, payload[i : i + m.MAX_CHUNK]))

    async def close_channel(self, output: str = "") -> None:
        await self._write([m.encode(m.channel_closed_message("s-fake", output))])
        self.closed.set()
        if self._ws is not None:
            await self._ws.close()

    # --- the connection -------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        self.request_headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        opened = m.parse_open_data_channel(await ws.recv())
        if opened.token_value not in self.tokens:
            await ws.close(4001, "bad token")
            return
        self.tokens.discard(opened.token_value)
        self.opens.append(opened)
        self._ws = ws
        resend = asyncio.create_task(self._resend_loop(ws))
        try:
            if not self._started:
                self._started = True
                await self._begin()
            else:
                await self._write(self.channel.unacked_frames())
            async for frame in ws:
                try:
                    msg = m.decode(frame if isinstance(frame, bytes) else frame.encode())
                except m.MessageDecodeError:
                    self.bad_frames += 1
                    continue
                if msg.message_type == m.INPUT_STREAM_DATA and self.ignore_first_inputs:
                    self.ignore_first_inputs -= 1
                    continue
                result = self.channel.receive(msg)
                await self._write(result.send)
                for delivered in result.deliver:
                    await self._on_input(delivered)
                    if (
                        self.drop_socket_after_inputs is not None
                        and not self._dropped
                        and len(self.inputs) >= self.drop_socket_after_inputs
                    ):
                        self._dropped = True
                        self._ws = None
                        ws.transport.abort()
                        return
        finally:
            resend.cancel()

    async def _resend_loop(self, ws: ServerConnection) -> None:
        while True:
            await asyncio.sleep(0.05)
            if self._ws is ws:
                await self._write(self.channel.due_retransmissions())

    async def _begin(self) -> None:
        if self.session_type is None:
            await self.output(self.greeting)
            return
        extra = []
        if self.kms:
            extra.append(
                {
                    "ActionType": "KMSEncryption",
                    "ActionParameters": {"KMSKeyId": "k", "Challenge": ""},
                }
            )
        await self.output(
            m.handshake_request_payload(
                self.agent_version, self.session_type, self.properties, extra
            ),
            m.PayloadType.HANDSHAKE_REQUEST,
        )

    async def _on_input(self, msg: m.ClientMessage) -> None:
        ptype, payload = msg.payload_type, msg.payload
        if ptype == m.PayloadType.HANDSHAKE_RESPONSE:
            self.handshake_response = m.parse_handshake_response(payload)
            if self.kms:
                return
            await self.output(
                m.handshake_complete_payload(1000, "hello from fake"),
                m.PayloadType.HANDSHAKE_COMPLETE,
            )
            if self.exit_code is not None:
                if self.command_output:
                    await self.output(self.command_output)
                await self.output(m.exit_code_payload(self.exit_code), m.PayloadType.EXIT_CODE)
                self._spawn(self._close_when_acked())
            return
        if ptype == m.PayloadType.SIZE:
            self.sizes.append(m.parse_size(payload))
            return
        if ptype == m.PayloadType.FLAG:
            flag = m.parse_flag(payload)
            self.flags.append(flag)
            if flag == m.PayloadFlag.TERMINATE_SESSION:
                await self.close_channel()
            return
        self.inputs.append((ptype, payload))
        if self.session_type == m.PORT_SESSION_TYPE and self.port_target is not None:
            await self._smux_feed(payload)
        elif self.session_type == m.PORT_SESSION_TYPE:
            await self.output(payload)  # stream mode: echo
        elif self.echo:
            await self.output(payload)
            if b"\x04" in payload or self.received_bytes().endswith(b"exit\r"):
                self._spawn(self._close_when_acked())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_when_acked(self) -> None:
        """As the agent does: flush (wait for acks, up to 2 s), then channel_closed."""
        for _ in range(200):
            if self.channel.idle:
                break
            await asyncio.sleep(0.01)
        await self.close_channel()

    # --- smux server ----------------------------------------------------------------------------

    async def _smux_feed(self, data: bytes) -> None:
        self._smux_buffer += data
        while len(self._smux_buffer) >= SMUX.size:
            _ver, cmd, length, sid = SMUX.unpack_from(self._smux_buffer)
            if len(self._smux_buffer) < SMUX.size + length:
                return
            body = bytes(self._smux_buffer[SMUX.size : SMUX.size + length])
            del self._smux_buffer[: SMUX.size + length]
            if cmd == 0:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port_target)
                except OSError:  # as the agent: Flag ConnectToPortError, then close the stream
                    flag = m.flag_payload(m.PayloadFlag.CONNECT_TO_PORT_ERROR)
                    await self.output(flag, m.PayloadType.FLAG)
                    await self.output(SMUX.pack(1, 1, 0, sid))
                    continue
                self._streams[sid] = writer
                task = asyncio.create_task(self._pump_target(sid, reader))
                self._tasks.add(task)
            elif cmd == 2 and sid in self._streams:
                self._streams[sid].write(body)
            elif cmd == 1 and sid in self._streams:
                self._streams.pop(sid).close()

    async def _pump_target(self, sid: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(4096):
            await self.output(SMUX.pack(1, 2, len(data), sid) + data)
        if self._streams.pop(sid, None) is not None:
            await self.output(SMUX.pack(1, 1, 0, sid))
