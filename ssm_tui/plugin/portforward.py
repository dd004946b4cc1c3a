"""Port-forwarding sessions: a local TCP listener relayed over the data channel.

Three modes, chosen as the official plugin chooses them (reference §11):
- mux: `LocalPortForwarding` with an agent newer than 3.0.196.0. Every accepted TCP connection is
  one smux stream; any number run at once.
- basic: `LocalPortForwarding` with an older agent. One TCP connection at a time; when it ends we
  send Flag DisconnectToPort so the agent drops its target connection, then accept the next.
- stream: any other port session (AWS-StartSSHSession): stdin/stdout are the byte stream, as an
  ssh ProxyCommand needs. End of stdin ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Callable

from ssm_tui.plugin import smux
from ssm_tui.plugin.client import DataChannelClient, SessionError
from ssm_tui.plugin.messages import PayloadFlag
from ssm_tui.plugin.terminal import StdinReader, write_all

log = logging.getLogger(__name__)

MUX_MIN_AGENT = "3.0.196.0"
"""Agents newer than this run the smux server for LocalPortForwarding."""
NO_KEEPALIVE_AGENT = "3.1.1511.0"
"""Agents newer than this do not expect smux keep-alive frames."""
KEEPALIVE_INTERVAL = 10.0
CONNECT_ERROR = "Connection to destination port failed, check SSM Agent logs."


def version_newer(version: str, than: str) -> bool:
    """`version > than` for 4-part dotted versions; anything unparseable is never newer."""
    try:
        left = [int(p) for p in version.split(".")]
        right = [int(p) for p in than.split(".")]
    except ValueError:
        return False
    if len(left) != 4:
        return False
    return left > right


class PortForwardError(SessionError):
    """The local end cannot be opened (port taken, no permission); the message says which."""


class PortForwarder:
    """Relays local TCP connections to the agent; install `on_output` as the client's output."""

    def __init__(
        self, client: DataChannelClient, *, mux: bool, status: Callable[[str], None] = print
    ) -> None:
        self.client = client
        self.mux = mux
        self.status = status
        self.smux = smux.SmuxClient()
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._current: asyncio.StreamWriter | None = None
        self._basic_lock = asyncio.Lock()
        self.server: asyncio.Server | None = None
        self.connections = 0
        self.received = 0
        """Bytes relayed to local connections (for `ssm-tui forward`'s status line)."""
        self.sent = 0

    def on_output(self, payload_type: int, data: bytes) -> None:
        if not self.mux:
            if self._current is not None:
                self.received += len(data)
                self._current.write(data)
            return
        try:
            events = self.smux.feed(data)
        except smux.SmuxError as exc:
            self.status(f"port forwarding: {exc}")
            return
        for event in events:
            writer = self._writers.get(event.stream_id)
            if writer is None:
                continue
            if event.data:
                self.received += len(event.data)
                writer.write(event.data)
            if event.fin:
                self.smux.open_streams.discard(event.stream_id)
                writer.close()

    def on_flag(self, flag: int) -> None:
        if flag == PayloadFlag.CONNECT_TO_PORT_ERROR:
            self.status(CONNECT_ERROR)

    async def listen(self, host: str, port: int) -> int:
        """Start the listener; return the port it got (a random one when `port` is 0).

        A port that cannot be opened ends the session (nothing would ever use it) and raises
        `PortForwardError` with one line for the user, never a traceback.
        """
        try:
            self.server = await asyncio.start_server(self._handle, host, port)
        except OSError as exc:
            await self._give_up()
            raise PortForwardError(_listen_error(f"local port {port}", exc)) from None
        return self.server.sockets[0].getsockname()[1]

    async def listen_unix(self, path: str) -> None:
        """Listen on a unix socket instead (the document's `localUnixSocket`)."""
        try:
            self.server = await asyncio.start_unix_server(self._handle, path)
        except OSError as exc:
            await self._give_up()
            raise PortForwardError(_listen_error(f"unix socket {path}", exc)) from None

    async def _give_up(self) -> None:
        """End the session on the agent's side (Flag TerminateSession), briefly waiting for it."""
        with contextlib.suppress(SessionError, OSError, TimeoutError):
            await self.client.send_flag(PayloadFlag.TERMINATE_SESSION)
            await asyncio.wait_for(self.client.wait_closed(), 3)

    async def keepalive(self) -> None:
        """smux NOPs for agents old enough to close an idle mux session."""
        while True:
            await asyncio.sleep(KEEPALIVE_INTERVAL)
            await self.client.send_input(self.smux.nop())

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers.values()):
            writer.close()
        if self._current is not None:
            self._current.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.mux:
                await self._relay_mux(reader, writer)
            else:
                async with self._basic_lock:
                    await self._relay_basic(reader, writer)
        except Exception as exc:  # one connection's failure must not end the listener
            log.debug("port connection failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _relay_mux(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream_id, syn = self.smux.open()
        self._writers[stream_id] = writer
        try:
            await self.client.send_input(syn)
            while stream_id in self.smux.open_streams:
                data = await reader.read(65536)
                if not data or stream_id not in self.smux.open_streams:
                    break
                self.sent += len(data)
                await self.client.send_input(self.smux.data(stream_id, data))
        finally:
            self._writers.pop(stream_id, None)
            fin = self.smux.close(stream_id)
            if fin and not self.client.closed:
                await self.client.send_input(fin)

    async def _relay_basic(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._current = writer
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.sent += len(data)
                await self.client.send_input(data)
        finally:
            self._current = None
            if not self.client.closed:
                await self.client.send_flag(PayloadFlag.DISCONNECT_TO_PORT)


def _listen_error(what: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{what} is already in use by another program; choose another local port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on {what} (ports below 1024 need privileges)"
    return f"cannot listen on {what}: {exc.strerror or exc}"


async def run_stream(client: DataChannelClient, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
    """stdin -> agent, agent -> stdout until either side ends (AWS-StartSSHSession)."""
    reader = StdinReader(stdin_fd)

    async def pump() -> None:
        while True:
            data = await reader.read()
            if not data:
                return
            await client.send_input(data)

    pumping = asyncio.create_task(pump())
    closing = asyncio.create_task(client.wait_closed())
    done, _ = await asyncio.wait({pumping, closing}, return_when=asyncio.FIRST_COMPLETED)
    if pumping in done:
        pumping.result()
        if not client.closed:
            # stdin ended: the caller (ssh) is done, so end the session rather than leave it idle
            await client.send_flag(PayloadFlag.TERMINATE_SESSION)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(closing), 2)
    pumping.cancel()
    closing.cancel()
    with contextlib.suppress(BaseException):
        await closing


def stream_output(stdout_fd: int = 1) -> Callable[[int, bytes], None]:
    def write(payload_type: int, data: bytes) -> None:
        write_all(stdout_fd, data)

    return write
