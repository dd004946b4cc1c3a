"""The agent's side of port-forwarding sessions: smux multiplexing and the plain byte stream.

`AWS-StartPortForwardingSession(ToRemoteHost)` sessions ask the client for `LocalPortForwarding`;
with an agent newer than 3.0.196.0 the official plugin then multiplexes every local TCP connection
over the one data channel with smux v1 (xtaci/smux), and the agent runs the smux *server*: a SYN
opens a stream, for which it dials the target; PSH carries bytes either way; FIN closes. Frames
are 8 bytes of header (version u8, command u8, length u16 little-endian, stream id u32
little-endian) and their data, laid end to end over Output payloads that split them anywhere.

Other port documents (`AWS-StartSSHSession`: properties without `type`) are one plain byte stream
to the target, as an ssh ProxyCommand needs.

The sandbox only ever dials loopback: the instances are pretend, their "remote hosts" too, so a
`host` parameter that is not a loopback address is forwarded to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Protocol

from ssm_tui.plugin.messages import PayloadFlag
from ssm_tui.plugin.smux import FIN, HEADER, MAX_FRAME_DATA, PSH, SYN, VERSION, frame
from ssm_tui.sandbox import sshd

log = logging.getLogger(__name__)

TARGET_READ = min(16 * 1024, MAX_FRAME_DATA)
"""Bytes read from a target per smux frame (the framing is the client's, `plugin/smux.py`)."""


class PortLink(Protocol):
    """What a port backend needs from the data channel."""

    def send_data(self, data: bytes) -> None:
        """Queue bytes for the client (Output payloads, in order)."""

    def send_flag(self, flag: PayloadFlag) -> None:
        """Queue a Flag message for the client."""

    async def writable(self) -> None:
        """Return once the client is keeping up (backpressure for target reads)."""

    def end(self, message: str = "") -> None:
        """End the session (channel_closed with `message`)."""


DENIED_REMOTE_IPS = (
    "169.254.169.254", "fd00:ec2::254", "169.254.169.253", "fd00:ec2::253", "169.254.169.123",
    "fd00:ec2::123", "169.254.169.250", "169.254.169.251", "fd00:ec2::240",
)  # fmt: skip
"""The agent's DefaultDeniedPortForwardingRemoteIPs (agent/appconfig/constants.go): IMDS, the
VPC's DNS, time sync and the like are never a remote host."""


def remote_host_refusal(host: str | None) -> str | None:
    """The agent's message when `host` may not be forwarded to (port.go validateParameters)."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: the agent resolves it; the sandbox's pretend network has any name
    if any(address == ipaddress.ip_address(denied) for denied in DENIED_REMOTE_IPS):
        return f"Forwarding to IP address {host} is forbidden."
    return None


def loopback_host(host: str | None) -> str:
    """The address to dial for `host`: itself when it is loopback, else 127.0.0.1."""
    if not host or host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    return "127.0.0.1"


@dataclass(slots=True)
class _MuxStream:
    sid: int
    pending: list[bytes] = field(default_factory=list)
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    remote_fin: bool = False
    closed: bool = False


class MuxServer:
    """smux v1 server over the data channel: one target connection per client stream."""

    def __init__(self, host: str, port: int, link: PortLink) -> None:
        self.host = host
        self.port = port
        self._link = link
        self._buffer = bytearray()
        self._streams: dict[int, _MuxStream] = {}
        self._closed = False

    def start(self) -> None:
        """Nothing to do until the client opens a stream."""

    def feed(self, data: bytes) -> None:
        """Bytes from the client's Output payloads: parse whole frames and act on them."""
        self._buffer += data
        offset = 0
        size = len(self._buffer)
        while size - offset >= HEADER.size:
            version, cmd, length, sid = HEADER.unpack_from(self._buffer, offset)
            if version != VERSION:
                log.warning("smux: unsupported version %d, ending the session", version)
                self._buffer.clear()
                self._link.end("Unsupported multiplexing protocol version.")
                return
            if size - offset - HEADER.size < length:
                break
            start = offset + HEADER.size
            payload = bytes(self._buffer[start : start + length])
            offset = start + length
            self._frame(cmd, sid, payload)
        del self._buffer[:offset]

    def _frame(self, cmd: int, sid: int, payload: bytes) -> None:
        if cmd == SYN:
            if sid in self._streams:
                return
            opened = _MuxStream(sid)
            self._streams[sid] = opened
            opened.task = asyncio.get_running_loop().create_task(self._run(opened))
        elif cmd == PSH:
            stream = self._streams.get(sid)
            if stream is None or not payload:
                return
            if stream.writer is None:
                stream.pending.append(payload)
            else:
                stream.writer.write(payload)
        elif cmd == FIN:
            stream = self._streams.get(sid)
            if stream is None:
                return
            stream.remote_fin = True
            if stream.writer is not None and stream.writer.can_write_eof():
                with contextlib.suppress(OSError):
                    stream.writer.write_eof()
        # NOP (keep-alive) and anything newer: nothing to do.

    async def _run(self, stream: _MuxStream) -> None:
        """Dial the target for one stream, then copy what it sends back as PSH frames."""
        try:
            # port 22 of the session's instance is that instance's own sshd
            host, port = await sshd.route(_session_of(self._link), self.host, self.port)
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            log.info("smux stream %d: cannot reach port %d: %s", stream.sid, self.port, exc)
            self._link.send_flag(PayloadFlag.CONNECT_TO_PORT_ERROR)
            self._finish(stream)
            return
        stream.writer = writer
        for data in stream.pending:
            writer.write(data)
        stream.pending.clear()
        if stream.remote_fin and writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
        try:
            while True:
                await self._link.writable()
                data = await reader.read(TARGET_READ)
                if not data:
                    break
                self._link.send_data(frame(PSH, stream.sid, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._finish(stream)

    def _finish(self, stream: _MuxStream) -> None:
        if stream.closed:
            return
        stream.closed = True
        if not self._closed:
            self._link.send_data(frame(FIN, stream.sid))
        if stream.writer is not None:
            stream.writer.close()
        self._streams.pop(stream.sid, None)

    def disconnect(self) -> None:
        """DisconnectToPort means nothing in multiplexed mode (streams close with FIN)."""

    def close(self) -> None:
        """Session over: drop every target connection."""
        self._closed = True
        for stream in list(self._streams.values()):
            if stream.task is not None:
                stream.task.cancel()
            if stream.writer is not None:
                stream.writer.close()
        self._streams.clear()


class StreamForwarder:
    """One plain byte stream to the target (AWS-StartSSHSession, or basic port forwarding).

    The target is dialled when the session starts (a refused connection is reported with the
    ConnectToPortError flag and ends the session); after DisconnectToPort the next bytes from the
    client dial it again, as the agent's basic mode does. The target closing ends the session.
    """

    def __init__(self, host: str, port: int, link: PortLink) -> None:
        self.host = host
        self.port = port
        self._link = link
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[bytes] = []
        self._connecting = False
        self._closed = False

    def start(self) -> None:
        self._dial()

    def _dial(self) -> None:
        self._connecting = True
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            host, port = await sshd.route(_session_of(self._link), self.host, self.port)
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            log.info("port session: cannot reach %s:%d: %s", self.host, self.port, exc)
            self._connecting = False
            self._link.send_flag(PayloadFlag.CONNECT_TO_PORT_ERROR)
            self._link.end(f"Unable to connect to port {self.port}: connection refused.")
            return
        self._connecting = False
        self._writer = writer
        for data in self._pending:
            writer.write(data)
        self._pending.clear()
        try:
            while True:
                await self._link.writable()
                data = await reader.read(TARGET_READ)
                if not data:
                    break
                self._link.send_data(data)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        if self._writer is writer and not self._closed:
            self._writer = None
            self._link.end()

    def feed(self, data: bytes) -> None:
        if self._closed:
            return
        if self._writer is not None:
            self._writer.write(data)
            return
        self._pending.append(data)
        if not self._connecting:
            self._dial()

    def disconnect(self) -> None:
        """DisconnectToPort: close the target connection; the next bytes dial it again."""
        writer, self._writer = self._writer, None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if writer is not None:
            writer.close()

    def close(self) -> None:
        self._closed = True
        self.disconnect()


def _session_of(link: PortLink) -> object:
    """The session a data-channel link runs (None for links that are not sessions)."""
    return getattr(link, "session", None)
