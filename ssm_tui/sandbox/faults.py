"""Data-channel faults of the sandbox: the socket's life as AWS (and networks) make it.

Read live from `context.Faults` on every use, so `POST /_sandbox/faults` changes them at run time:
- `socket_lifetime`: the service closes every data-channel websocket with code 1000 about once an
  hour (aws/session-manager-plugin#135, #136); the client must ResumeSession and reconnect.
- `data_channel_outage`: for S seconds every open fails (HTTP 503 on the upgrade) and open
  sockets are cut, as when the network between the client and the service goes away.
- `data_channel_latency`: every frame is held MS milliseconds in each direction, so benchmarks
  run at a real RTT (2 x MS) without touching the host's network.

`DelayLine` keeps frames in order and delays each by the latency set when it entered the line
(frames pipeline: a burst of N frames takes latency + N x send time, not N x latency).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ssm_tui.sandbox.context import Faults

if TYPE_CHECKING:
    from starlette.types import Scope, Send

EARLY = 0.001
"""A frame due within this is sent now: the event loop's timers resolve to ~1 ms, so sleeping for
each of a burst of frames due microseconds apart would cost a millisecond per frame."""
OUTAGE_STATUS = 503
OUTAGE_BODY = b"Service Unavailable (sandbox fault: data_channel_outage)"


def lifetime_over(faults: Faults, opened: float, now: float | None = None) -> bool:
    """Has a socket opened at `opened` (monotonic) reached the configured lifetime?"""
    lifetime = faults.socket_lifetime
    if lifetime is None:
        return False
    return (time.monotonic() if now is None else now) - opened >= lifetime


async def refuse_upgrade(scope: Scope, send: Send) -> None:
    """Answer a websocket upgrade during an outage: 503 where the server allows a body, else 403."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": OUTAGE_STATUS,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(OUTAGE_BODY)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": OUTAGE_BODY})
    else:
        await send({"type": "websocket.close", "code": 1013})


class DelayLine:
    """Frames delivered in order, each `latency` after it was put in (a pipe with a length)."""

    def __init__(self, deliver: Callable[[Any], Awaitable[None] | None]) -> None:
        self._deliver = deliver
        self._items: deque[tuple[float, Any]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def put(self, item: Any, latency_ms: int) -> None:
        self._items.append((time.monotonic() + latency_ms / 1000, item))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def pending(self) -> int:
        return len(self._items)

    async def _run(self) -> None:
        while True:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, item = self._items[0]
            wait = due - time.monotonic()
            if wait > EARLY:
                await asyncio.sleep(wait)
            self._items.popleft()
            result = self._deliver(item)
            if result is not None:
                await result

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001, S110 - the socket's end already says what went wrong
                pass
            self._task = None
        self._items.clear()
