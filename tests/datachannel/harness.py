"""A small real server for `datachannel.serve` and a protocol client built on the shared codec.

`ServerHarness` runs a Starlette app under uvicorn on loopback in its own thread and event loop
(as the sandbox does), mounting `serve` at the StreamUrl path with hand-built sessions and a
context whose AWS writers record what they were given. `ProtocolClient` speaks the data channel
with `ssm_tui.plugin.messages` + `ssm_tui.plugin.channel` over a real `websockets` connection.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ssm_tui.plugin.channel import Channel
from ssm_tui.plugin.messages import (
    CHANNEL_CLOSED,
    OUTPUT_STREAM_DATA,
    SESSION_TYPE_ACTION,
    ActionStatus,
    ClientMessage,
    HandshakeRequest,
    PayloadType,
    decode,
    encode,
    handshake_response_payload,
    open_data_channel_json,
    parse_channel_closed,
    parse_exit_code,
    parse_flag,
    parse_handshake_request,
    processed_action,
    size_payload,
)
from ssm_tui.sandbox import datachannel
from ssm_tui.sandbox.context import Faults, SandboxContext
from ssm_tui.sandbox.sessions import InstanceView, LoggingPrefs, SandboxSession, SessionRegistry


class RecordingContext(SandboxContext):
    """The sandbox context, with the AWS writers recording instead of writing into moto."""

    log_events: dict[tuple[str, str, str, str], list[tuple[int, str]]]
    objects: dict[tuple[str, str, str], bytes]

    def write_log_events(
        self,
        account_id: str,
        region: str,
        group: str,
        stream: str,
        events: list[tuple[int, str]],
    ) -> None:
        self.log_events.setdefault((account_id, region, group, stream), []).extend(events)

    def put_s3_object(self, account_id: str, bucket: str, key: str, body: bytes) -> None:
        self.objects[(account_id, bucket, key)] = body


class ServerHarness:
    """uvicorn + Starlette on 127.0.0.1 in a thread, routing `/v1/data-channel/<id>` to `serve`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.registry = SessionRegistry()
        self.faults = Faults()
        self.loop = asyncio.new_event_loop()
        context = RecordingContext(self.registry, self.faults, self.loop, str(directory))
        context.log_events = {}
        context.objects = {}
        self.context = context
        app = Starlette(routes=[WebSocketRoute("/v1/data-channel/{session_id}", self._route)])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            log_level="warning",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    async def _route(self, websocket: WebSocket) -> None:
        session = self.registry.get(websocket.path_params["session_id"])
        if session is None:
            await websocket.close(code=4404)
            return
        await datachannel.serve(websocket, session, self.context)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> ServerHarness:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            ending = asyncio.run_coroutine_threadsafe(datachannel.shutdown(), self.loop)
            ending.result(timeout=10)
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def new_session(
        self,
        document: str = "SSM-SessionManagerRunShell",
        parameters: dict[str, list[str]] | None = None,
        *,
        name: str = "web-1",
        computer_name: str = "ip-10-0-0-1.ec2.internal",
        instance_id: str | None = None,
        logging: LoggingPrefs | None = None,
    ) -> SandboxSession:
        instance_id = instance_id or f"i-{secrets.token_hex(8)}"
        session = SandboxSession(
            session_id=f"alice-{secrets.token_hex(8)}{secrets.token_hex(1)[0]}",
            token=secrets.token_urlsafe(32),
            account_id="111111111111",
            region="us-east-1",
            target=instance_id,
            document_name=document,
            parameters=parameters or {},
            owner="arn:aws:iam::111111111111:user/alice",
            reason=None,
            instance=InstanceView(
                instance_id=instance_id,
                name=name,
                computer_name=computer_name,
                platform_type="Linux",
                home=str(self.directory / "hosts" / instance_id),
            ),
            logging=logging,
        )
        return self.registry.add(session)

    def stream_url(self, session: SandboxSession) -> str:
        return (
            f"ws://127.0.0.1:{self.port}/v1/data-channel/{session.session_id}"
            "?role=publish_subscribe"
        )


@dataclass
class ProtocolClient:
    """The client end of a data channel, driven explicitly by the test."""

    websocket: ClientConnection
    channel: Channel = field(default_factory=Channel.for_client)
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    output: bytearray = field(default_factory=bytearray)
    payloads: list[tuple[int, bytes]] = field(default_factory=list)
    handshake: HandshakeRequest | None = None
    handshake_complete: bool = False
    exit_code: int | None = None
    flags: list[int] = field(default_factory=list)
    closed: str | None = None
    """channel_closed Output once received."""
    frames_seen: list[ClientMessage] = field(default_factory=list)
    send_acks: bool = True

    # max_queue=None: a test may stop reading mid-stream and close; with a bounded queue the
    # websockets client stops reading the socket and only gives up on the close after 10 s.

    @classmethod
    async def open(
        cls, url: str, token: str, client_id: str | None = None, **kwargs: Any
    ) -> ProtocolClient:
        websocket = await connect(url, max_size=None, max_queue=None, compression=None)
        client = cls(websocket, **kwargs)
        if client_id:
            client.client_id = client_id
        await websocket.send(open_data_channel_json(token, client.client_id, None, "1.2.0.0"))
        return client

    async def reconnect(self, url: str, token: str) -> None:
        """A new socket for the same channel (ResumeSession): resend what is unacked."""
        self.websocket = await connect(url, max_size=None, max_queue=None, compression=None)
        await self.websocket.send(open_data_channel_json(token, self.client_id, None, "1.2.0.0"))
        for frame in self.channel.unacked_frames():
            await self.websocket.send(frame)

    async def send(self, payload_type: int, payload: bytes) -> None:
        for frame in self.channel.send(payload_type, payload):
            await self.websocket.send(frame)

    async def type(self, text: str | bytes) -> None:
        await self.send(PayloadType.OUTPUT, text.encode() if isinstance(text, str) else text)

    async def resize(self, cols: int, rows: int) -> None:
        await self.send(PayloadType.SIZE, size_payload(cols, rows))

    async def pump(self, until: Callable[[], bool], timeout: float = 15.0) -> None:
        """Read frames (acking, handling) until `until()` holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"condition not met; output so far: {bytes(self.output[-2000:])!r}"
                )
            try:
                frame = await asyncio.wait_for(self.websocket.recv(), min(remaining, 0.1))
            except TimeoutError:
                for resend in self.channel.due_retransmissions():
                    await self.websocket.send(resend)
                continue
            except ConnectionClosed:
                if until():
                    return
                raise
            await self._handle_frame(frame)

    async def _handle_frame(self, frame: bytes | str) -> None:
        msg = decode(frame if isinstance(frame, bytes) else frame.encode())
        self.frames_seen.append(msg)
        if msg.message_type == OUTPUT_STREAM_DATA and not self.send_acks:
            return
        result = self.channel.receive(msg)
        try:
            for reply in result.send:
                await self.websocket.send(reply)
        except ConnectionClosed:
            pass  # the server closed after channel_closed; what it sent is still to be read
        for delivered in result.deliver:
            await self._deliver(delivered)

    async def _deliver(self, msg: ClientMessage) -> None:
        if msg.message_type == CHANNEL_CLOSED:
            self.closed = parse_channel_closed(msg.payload).output
            return
        if msg.message_type != OUTPUT_STREAM_DATA:
            return
        self.payloads.append((msg.payload_type, msg.payload))
        if msg.payload_type == PayloadType.HANDSHAKE_REQUEST:
            self.handshake = parse_handshake_request(msg.payload)
            action = processed_action(SESSION_TYPE_ACTION, ActionStatus.SUCCESS)
            await self.send(
                PayloadType.HANDSHAKE_RESPONSE, handshake_response_payload("1.2.0.0", [action])
            )
        elif msg.payload_type == PayloadType.HANDSHAKE_COMPLETE:
            self.handshake_complete = True
        elif msg.payload_type == PayloadType.EXIT_CODE:
            self.exit_code = parse_exit_code(msg.payload)
        elif msg.payload_type == PayloadType.FLAG:
            self.flags.append(parse_flag(msg.payload))
        elif msg.payload_type in (PayloadType.OUTPUT, PayloadType.ERROR, PayloadType.STDERR):
            self.output += msg.payload

    async def wait_for_output(self, needle: bytes, timeout: float = 15.0, start: int = 0) -> int:
        """Pump until `needle` appears in the output after `start`; return where it ends."""
        await self.pump(lambda: self.output.find(needle, start) >= 0, timeout)
        return self.output.find(needle, start) + len(needle)

    async def close(self) -> None:
        await self.websocket.close()


__all__ = ["ProtocolClient", "RecordingContext", "ServerHarness", "encode"]
