"""A port forward kept open: one local port, sessions restarted when the service ends them.

`ssm-tui forward NAME` (and the named `[forwards.NAME]` of the settings) wants a local port that
stays usable for hours: a database client or a tunnel left running. A Session Manager session
does not last that long: TerminateSession from someone else, the idle timeout, an agent restart
or a reboot of the node all close it (the data channel's own reconnect loop only covers a dropped
socket of a session that is still alive). So this runs the session in-process with our plugin's
parts (`DataChannelClient` + `PortForwarder`) and, whenever the service closes a session, starts
a new one on the same local port after a short, growing pause. Stopping (Ctrl-C, SIGTERM) ends
the current session with the TerminateSession flag and TerminateSession, so none is left behind.

The document is `AWS-StartPortForwardingSessionToRemoteHost` when a remote host is given (a host
only the node reaches: a database, a Raspberry Pi behind one `mi-` node), else
`AWS-StartPortForwardingSession` to the node's own port.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ssm_tui.aws.models import StartedSession
    from ssm_tui.plugin.portforward import PortForwarder

PORT_DOCUMENT = "AWS-StartPortForwardingSession"
REMOTE_PORT_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pauses before successive restarts; back to the first once a session has run for a while."""
STABLE_AFTER = 30.0


class ForwardSpec(NamedTuple):
    """What to forward: local_port on this machine to remote_host:remote_port via the node."""

    name: str
    target: str
    """The node's instance id (i-... or mi-...)."""
    profile: str
    region: str
    remote_port: int
    remote_host: str | None = None
    local_port: int = 0

    @property
    def document(self) -> str:
        return REMOTE_PORT_DOCUMENT if self.remote_host else PORT_DOCUMENT

    def parameters(self, local_port: int) -> dict[str, list[str]]:
        parameters = {"portNumber": [str(self.remote_port)]}
        if local_port:
            parameters["localPortNumber"] = [str(local_port)]
        if self.remote_host:
            parameters["host"] = [self.remote_host]
        return parameters

    @property
    def destination(self) -> str:
        return f"{self.remote_host or self.target}:{self.remote_port}"


@dataclass
class ForwardStatus:
    """The live state a status line shows; updated in place by `keep_forward`."""

    state: str = "starting"
    """starting | open | reconnecting (the socket, same session) | restarting | stopped"""
    local_port: int = 0
    session_id: str = ""
    sessions: int = 0
    connections: int = 0
    active: int = 0
    received: int = 0
    sent: int = 0
    since: float = 0.0
    """When the forward first opened (epoch seconds)."""
    message: str = ""
    """Why the last session ended, or what the agent said."""
    reconnects: int = 0
    """Times the data channel's socket was closed and resumed (the session itself went on)."""


class ForwardStopped(Exception):
    """The forward cannot go on (a first session refused, the local port taken): the reason."""


async def keep_forward(
    spec: ForwardSpec,
    status: ForwardStatus,
    stop: asyncio.Event,
    on_change: Callable[[ForwardStatus], None] = lambda _status: None,
    delays: tuple[float, ...] = RESTART_DELAYS,
) -> None:
    """Forward until `stop` is set. Raises ForwardStopped when the first session cannot start
    or the local port cannot be opened; later failures to start a session are retried."""
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.sessions import start_session

    failures = 0
    while not stop.is_set():
        status.state = "starting" if status.sessions == 0 else "restarting"
        on_change(status)
        try:
            started = await start_session(
                spec.profile or None,
                spec.region or None,
                spec.target,
                spec.document,
                spec.parameters(status.local_port or spec.local_port),
                f"ssm-tui forward {spec.name}",
            )
        except SsmTuiError as exc:
            if status.sessions == 0:
                raise ForwardStopped(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
            status.message = f"could not start a session: {exc.message}"
        else:
            began = time.monotonic()
            first = status.sessions == 0
            refused = [False]
            await _run_one(started, spec, status, stop, on_change, refused)
            lasted = time.monotonic() - began
            if first and refused[0] and not stop.is_set() and status.connections == 0:
                # the agent refused the forward (a forbidden host, a bad port): no retrying
                raise ForwardStopped(status.message)
            if lasted >= STABLE_AFTER:
                failures = 0
        if stop.is_set():
            break
        delay = delays[min(failures, len(delays) - 1)]
        failures += 1
        status.state = "restarting"
        status.active = 0
        on_change(status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    status.state = "stopped"
    status.active = 0
    on_change(status)


async def _run_one(
    started: StartedSession,
    spec: ForwardSpec,
    status: ForwardStatus,
    stop: asyncio.Event,
    on_change: Callable[[ForwardStatus], None],
    refused: list[bool],
) -> None:
    """One session: listen on the local port until the service closes it or `stop` is set."""
    from ssm_tui.aws.sessions import terminate_session
    from ssm_tui.plugin import portforward
    from ssm_tui.plugin.client import DataChannelClient, SessionError
    from ssm_tui.plugin.main import OutputRouter, make_resume
    from ssm_tui.plugin.messages import PayloadFlag

    session_id = started.session_id
    profile, region = started.profile, started.region
    endpoint = started.endpoint_url
    router = OutputRouter()

    def said(text: str) -> None:
        status.message = text.strip()
        on_change(status)

    def socket_state(state: str, why: str) -> None:
        """The service closed the socket: "reconnecting" until ResumeSession brings it back."""
        if state == "reconnecting" and status.state == "open":
            status.state = "reconnecting"
            status.message = why
        elif state == "connected" and status.state == "reconnecting":
            status.state = "open"
            status.reconnects += 1
            status.message = ""
        on_change(status)

    client = DataChannelClient(
        started.stream_url,
        started.token_value,
        session_id=session_id,
        resume=make_resume(session_id, profile, region, endpoint),
        on_output=router,
        on_flag=router.on_flag,
        on_message=said,
        on_state=socket_state,
        target_id=spec.target,
    )
    forwarder: portforward.PortForwarder | None = None
    base = (status.connections, status.received, status.sent)
    ticker: asyncio.Task[None] | None = None
    try:
        await client.start()
        await _first(client.wait_ready(), stop)
        if stop.is_set():
            return
        mux = portforward.version_newer(client.agent_version, portforward.MUX_MIN_AGENT)
        forwarder = portforward.PortForwarder(client, mux=mux, status=said)
        router.set(forwarder.on_output)
        router.flag_handler = forwarder.on_flag
        try:
            port = await forwarder.listen("127.0.0.1", status.local_port or spec.local_port)
        except portforward.PortForwardError as exc:
            raise ForwardStopped(str(exc)) from None
        status.local_port = port
        status.session_id = session_id
        status.sessions += 1
        status.state = "open"
        status.message = ""
        status.since = status.since or time.time()
        on_change(status)
        ticker = asyncio.create_task(_tick(forwarder, status, base, on_change))
        await _first(client.wait_closed(), stop)
        if stop.is_set() and not client.closed:
            with contextlib.suppress(SessionError, OSError, TimeoutError):
                await client.send_flag(PayloadFlag.TERMINATE_SESSION)
                await asyncio.wait_for(client.wait_closed(), 3)
        elif client.closed:
            # the agent's reason (a refused host) comes as channel_closed's output; a
            # TerminateSession or the idle timeout closes the channel with none
            refused[0] = bool(client.closed_output)
            status.message = client.closed_output or "the session was closed by the service"
    except SessionError as exc:
        status.message = str(exc)
    finally:
        if ticker is not None:
            ticker.cancel()
        if forwarder is not None:
            _count(forwarder, status, base)
            status.active = 0
            await forwarder.close()
        await client.close()
        with contextlib.suppress(Exception):
            await terminate_session(profile or None, region or None, session_id, endpoint)


def _count(forwarder: PortForwarder, status: ForwardStatus, base: tuple[int, int, int]) -> None:
    """The forward's totals: the earlier sessions' (`base`) plus this session's counters."""
    status.connections = base[0] + forwarder.connections
    status.received = base[1] + forwarder.received
    status.sent = base[2] + forwarder.sent
    writers = getattr(forwarder, "_writers", None) or {}
    status.active = len(writers) or int(getattr(forwarder, "_current", None) is not None)


async def _tick(
    forwarder: PortForwarder,
    status: ForwardStatus,
    base: tuple[int, int, int],
    on_change: Callable[[ForwardStatus], None],
) -> None:
    """Fold the forwarder's counters into the status once a second (the status line's pace)."""
    while True:
        await asyncio.sleep(1.0)
        before = (status.connections, status.received, status.sent, status.active)
        _count(forwarder, status, base)
        if (status.connections, status.received, status.sent, status.active) != before:
            on_change(status)


async def _first(awaitable: Awaitable[object], stop: asyncio.Event) -> None:
    """Wait for `awaitable` or `stop`, whichever comes first (the other is cancelled)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        task.result()
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


def status_line(spec: ForwardSpec, status: ForwardStatus) -> str:
    """`db: 127.0.0.1:15432 -> db.internal:5432 via i-... open · 2 conn (1 active) · ...`."""
    since = time.strftime("%H:%M:%S", time.localtime(status.since)) if status.since else "-"
    line = (
        f"{spec.name}: 127.0.0.1:{status.local_port or spec.local_port or '?'} -> "
        f"{spec.destination} via {spec.target} {status.state}"
        f" · {status.connections} conn ({status.active} active)"
        f" · in {human_bytes(status.received)} out {human_bytes(status.sent)}"
        f" · since {since} · sessions {status.sessions}"
    )
    if status.session_id and status.state == "open":
        line += f" · session {status.session_id}"
    if status.message and status.state != "open":
        line += f" · {status.message}"
    return line
