"""Our data-channel client in tests and benchmarks: its output collected (`Sink`) and a client
for a sandbox session built the way the plugin builds one (`client_for`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping
from typing import Any

from ssm_tui.plugin.client import DataChannelClient
from ssm_tui.plugin.main import make_data_key


class Sink:
    """The `on_output` callback of a `DataChannelClient`: keeps every byte, wakes waiters."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.changed = asyncio.Event()

    def __call__(self, ptype: int, payload: bytes) -> None:
        self.data += payload
        self.changed.set()

    async def wait_for(self, needle: bytes, start: int = 0, timeout: float = 20) -> None:
        """Until `needle` has arrived after offset `start`; `TimeoutError` after `timeout` s
        (a guard against hanging, not a speed check)."""
        async with asyncio.timeout(timeout):
            while self.data.find(needle, start) < 0:
                self.changed.clear()
                await self.changed.wait()


def client_for(started: Mapping[str, Any], target: str, **overrides: Any) -> DataChannelClient:
    """Our client for a StartSession response of the sandbox's `sandbox` profile: a `Sink` for
    output, kms:GenerateDataKey through that profile (as the plugin does), `overrides` on top."""
    options: dict[str, Any] = {
        "session_id": started["SessionId"],
        "target_id": target,
        "generate_data_key": make_data_key("sandbox", "us-east-1"),
        "on_output": Sink(),
    }
    options.update(overrides)
    url = options.pop("stream_url", started["StreamUrl"])
    return DataChannelClient(url, started["TokenValue"], **options)


def echo_server() -> socket.socket:
    """A TCP echo server on a free loopback port, on threads: what a forward's remote end is in
    the forward tests (close the socket to stop it)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server
