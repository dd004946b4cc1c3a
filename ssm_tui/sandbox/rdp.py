"""Port 3389 of the sandbox's Windows instances: the first exchange of an RDP server.

An RDP client opens with an X.224 Connection Request in a TPKT packet (RFC 1006 header, then
the X.224 CR TPDU and an RDP Negotiation Request naming the security protocols it supports,
[MS-RDPBCGR] 2.2.1.1); a server answers with an X.224 Connection Confirm carrying an RDP
Negotiation Response that picks one. That answer is all a client needs to recognise an RDP
server (and a test, through a port forward, to tell it reached one): the sandbox then closes the
connection, as a server whose TLS handshake the client never starts would.

Each Windows instance gets its own listener on loopback, made on the first forward to it (as
`sshd.py` does for port 22 of Linux instances).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

RDP_PORT = 3389
TPKT_VERSION = 3
X224_CONNECTION_REQUEST = 0xE0
X224_CONNECTION_CONFIRM = 0xD0
NEG_REQUEST = 0x01
NEG_RESPONSE = 0x02
NEG_FAILURE = 0x03
PROTOCOL_RDP, PROTOCOL_SSL, PROTOCOL_HYBRID = 0x0, 0x1, 0x2
SSL_NOT_ALLOWED_BY_SERVER = 0x2

_SERVERS: dict[str, asyncio.Server] = {}
_LOCKS: dict[str, asyncio.Lock] = {}


def confirm_for(request: bytes) -> bytes | None:
    """The X.224 Connection Confirm answering a TPKT-framed Connection Request (None: not one)."""
    if len(request) < 11 or request[0] != TPKT_VERSION:
        return None
    (length,) = struct.unpack(">H", request[2:4])
    if length != len(request) or request[5] & 0xF0 != X224_CONNECTION_REQUEST:
        return None
    asked = PROTOCOL_RDP
    negotiation = request.find(bytes([NEG_REQUEST]), 11)
    if negotiation >= 0 and len(request) - negotiation >= 8:
        (asked,) = struct.unpack("<I", request[negotiation + 4 : negotiation + 8])
    if asked & PROTOCOL_HYBRID:
        chosen = PROTOCOL_HYBRID
    elif asked & PROTOCOL_SSL:
        chosen = PROTOCOL_SSL
    else:
        chosen = PROTOCOL_RDP
    negotiate = struct.pack("<BBHI", NEG_RESPONSE, 0, 8, chosen)
    tpdu = bytes([6 + len(negotiate), X224_CONNECTION_CONFIRM, 0, 0, 0x12, 0x34, 0]) + negotiate
    return struct.pack(">BBH", TPKT_VERSION, 0, 4 + len(tpdu)) + tpdu


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        header = await asyncio.wait_for(reader.readexactly(4), 30)
        (length,) = struct.unpack(">H", header[2:4])
        body = await asyncio.wait_for(reader.readexactly(max(0, length - 4)), 30)
        answer = confirm_for(header + body)
        if answer is not None:
            writer.write(answer)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError, TimeoutError, struct.error):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def route(instance: Any, host: str, port: int) -> tuple[str, int] | None:
    """Where port 3389 of a Windows instance really is (None: not this module's port)."""
    if port != RDP_PORT or getattr(instance, "platform_type", "") != "Windows":
        return None
    lock = _LOCKS.setdefault(instance.instance_id, asyncio.Lock())
    async with lock:
        server = _SERVERS.get(instance.instance_id)
        if server is None:
            server = await asyncio.start_server(_serve, "127.0.0.1", 0)
            _SERVERS[instance.instance_id] = server
    return "127.0.0.1", server.sockets[0].getsockname()[1]
