"""The sandbox's data channel: the Session Manager server side (MGS + agent in one).

The websocket route calls `serve(websocket, session, context)` for every connection to a session's
StreamUrl. One `SessionRuntime` per session outlives its connections: the shell keeps running when
a socket drops, so ResumeSession + a reconnect (new token, same ClientId) carries on with the same
sequence numbers, and whatever the client has not acknowledged is sent again (the official plugin
silently drops messages it is not ready for, so resending is what makes the protocol work at all).

What the server does, in the agent's order (reference `session-protocol.md` §7-§12):
- read the open-data-channel text frame and check its token (a wrong one closes the socket);
- Port and NonInteractiveCommands sessions: HandshakeRequest (4-part AgentVersion), wait for the
  HandshakeResponse, HandshakeComplete; shell sessions skip it and just start printing;
- when the Session Manager preferences name a KMS key, every session but Port handshakes with a
  KMSEncryption action, the encryption challenge and AES-GCM payloads (`sandbox/kms.py`);
- stream the backend's output as sequenced `output_stream_data` (≤ 1024 bytes, UTF-8 safe), keep a
  window of unacknowledged messages, resend the oldest after the RTO, and stop reading the backend
  while the client is behind (so a fast `cat` never balloons memory);
- ack every `input_stream_data` once handled, deliver it in order: keystrokes to the pty, Size
  to the pty's window size, Flags (TerminateSession, DisconnectToPort); as the agent, a shell
  session refuses (no ack, sequence number not used) input before its pty exists and a Size that
  does not parse, so the client's resend is what gets handled;
- when the backend ends: ExitCode (NonInteractiveCommands), flush (wait for the acks), write the
  transcript, mark the session terminated, `channel_closed`, close. TerminateSession from the API
  ends it the same way, without the flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ssm_tui.plugin.channel import Channel, RetransmissionExhausted
from ssm_tui.plugin.messages import (
    ACKNOWLEDGE,
    INPUT_STREAM_DATA,
    PORT_SESSION_TYPE,
    SESSION_TYPE_ACTION,
    ActionStatus,
    ClientMessage,
    PayloadFlag,
    PayloadType,
    ProtocolError,
    channel_closed_message,
    decode,
    encode,
    encode_ack,
    exit_code_payload,
    flag_payload,
    handshake_complete_payload,
    handshake_request_payload,
    parse_flag,
    parse_handshake_response,
    parse_open_data_channel,
    parse_size,
)
from ssm_tui.sandbox import commands, kms, shell
from ssm_tui.sandbox import faults as fault_rules
from ssm_tui.sandbox.context import Faults, SandboxContext
from ssm_tui.sandbox.portfwd import (
    MuxServer,
    StreamForwarder,
    loopback_host,
    remote_host_refusal,
)
from ssm_tui.sandbox.sessions import SandboxSession
from ssm_tui.sandbox.shell import (
    CHUNK_LIMIT,
    ExitStatus,
    PipeCommand,
    PtyShell,
    shell_environment,
    working_directory,
)
from ssm_tui.sandbox.streaming import transcript_for
from ssm_tui.sandbox.transcripts import Transcript, write_transcript

log = logging.getLogger(__name__)

AGENT_VERSION = "3.3.1000.0"
"""Four parts, newer than every feature check of the plugin (smux, no keep-alive, Flags)."""

WINDOW = 512
"""Output messages in flight without an ack (the plugin buffers up to 10 000 out of order)."""
QUEUE_HIGH = 256
"""Messages waiting for the window before the backend stops being read (backpressure)."""
TICK = 0.05
"""How often a connection checks for due retransmissions and the drop fault (seconds)."""
FIRST_FRAME_TIMEOUT = 30.0
FLUSH_STALL = 2.0
"""At the end, how long to wait for an ack before giving up on the rest (the agent waits 2 s)."""
FLUSH_RECONNECT = 10.0
"""... or, with no client connected, for the client to come back (ResumeSession) and ack."""
KILL_WAIT = 1.0
PTY_START_DELAY = 0.0
"""Seconds from the channel's start (or the handshake's end) to the session's pty existing.
The agent starts the pty in the shell plugin, apart from its data channel, so input can come
first; 0 starts it at once (tests widen the window)."""
IDLE_TIMEOUT = 20 * 60.0
"""Session Manager's default idleSessionTimeout: no input for this long ends the session, so a
session whose client died (killed plugin, closed laptop) does not keep its shell forever."""
IDLE_CHECK = 1.0
IDLE_MESSAGE = "Your session timed out due to inactivity and has been terminated."
"""After TerminateSession, how long the shell's last output may take to arrive."""
POLICY_VIOLATION = 1008
DROPPED = 1011

SHELL_DOCUMENT = "SSM-SessionManagerRunShell"
INTERACTIVE_DOCUMENT = "AWS-StartInteractiveCommand"
NON_INTERACTIVE_DOCUMENT = "AWS-StartNonInteractiveCommand"
PORT_DOCUMENT = "AWS-StartPortForwardingSession"
REMOTE_PORT_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
SSH_DOCUMENT = "AWS-StartSSHSession"


# --- what a document asks for ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """How a session's document is run: its session type and what backs it."""

    session_type: str
    handshake: bool
    command: str | None = None
    properties: dict[str, Any] | None = None
    port: int | None = None
    host: str = "127.0.0.1"
    multiplexed: bool = False
    separate_streams: bool = False
    """NonInteractiveCommands with separateOutputStream: pipes, stderr as StdErr payloads."""
    run: commands.CommandPlan | None = None
    """Shell-like sessions: what the agent execs, and how (`sandbox/commands.py`)."""

    @property
    def is_port(self) -> bool:
        return self.session_type == PORT_SESSION_TYPE


def _parameter(session: SandboxSession, name: str, default: str | None = None) -> str | None:
    values = session.parameters.get(name) or []
    values = [str(v) for v in values if str(v) != ""]
    return "\n".join(values) if values else default


def plan_for(session: SandboxSession) -> SessionPlan:
    """The session type and backend the agent would use for the session's document."""
    document = session.document_name or SHELL_DOCUMENT
    if document in (PORT_DOCUMENT, REMOTE_PORT_DOCUMENT):
        port = _port(_parameter(session, "portNumber", "80"))
        local = _parameter(session, "localPortNumber", "0") or "0"
        properties: dict[str, Any] = {
            "portNumber": str(port),
            "type": "LocalPortForwarding",
            "localPortNumber": local,
        }
        host = _parameter(session, "host")
        if document == REMOTE_PORT_DOCUMENT and host:
            properties["host"] = host
        return SessionPlan(
            PORT_SESSION_TYPE,
            handshake=True,
            properties=properties,
            port=port,
            host=loopback_host(host),
            multiplexed=True,
        )
    if document == SSH_DOCUMENT:
        port = _port(_parameter(session, "portNumber", "22"))
        return SessionPlan(
            PORT_SESSION_TYPE,
            handshake=True,
            properties={"portNumber": str(port)},
            port=port,
            host="127.0.0.1",
        )
    content = commands.document_content(document, session.document_content)
    session_type = str(content.get("sessionType") or commands.STANDARD_STREAM)
    if session_type not in (commands.INTERACTIVE, commands.NON_INTERACTIVE):
        session_type = commands.STANDARD_STREAM
    run = commands.plan_command(session_type, content, session.parameters)
    return SessionPlan(
        session_type,
        handshake=session_type == commands.NON_INTERACTIVE,
        command=" ".join(run.argv),
        separate_streams=run.separate_streams,
        run=run,
    )


def _port(value: str | None) -> int:
    try:
        port = int(value or "")
    except ValueError:
        return 0
    return port if 0 < port < 65536 else 0


# --- one websocket ---------------------------------------------------------------------------


class _Socket(Protocol):
    async def accept(self) -> None: ...
    async def receive(self) -> Any: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


_CLOSE = object()


class Connection:
    """One websocket of a session: a single writer task sends every frame, in order.

    With the `data_channel_latency` fault each frame leaves `latency` after it was pushed (the
    writer sleeps until then), so output pipelines at a real RTT instead of being serialized.
    """

    def __init__(self, websocket: _Socket, client_id: str, faults: Faults | None = None) -> None:
        self.websocket = websocket
        self.client_id = client_id
        self.faults = faults
        self.opened = time.monotonic()
        self.alive = True
        self.closing = False
        self._outbox: deque[tuple[float, Any]] = deque()
        self._wake = asyncio.Event()
        self._close_code = 1000
        self.writer_task: asyncio.Task[None] | None = None

    def _due(self) -> float:
        latency = self.faults.data_channel_latency if self.faults is not None else 0
        return time.monotonic() + latency / 1000 if latency else 0.0

    def push(self, frames: list[bytes]) -> None:
        if frames and self.alive:
            due = self._due()
            self._outbox.extend((due, frame) for frame in frames)
            self._wake.set()

    def close(self, code: int = 1000) -> None:
        """Close after the frames already queued (channel_closed must reach the client)."""
        if self.alive and not self.closing:
            self.closing = True
            self._close_code = code
            self._outbox.append((self._due(), _CLOSE))
            self._wake.set()

    def abort(self, code: int = DROPPED) -> None:
        """Cut the socket now, dropping what is queued (the unacked output is resent later)."""
        if self.alive:
            self._outbox.clear()
            self.closing = True
            self._close_code = code
            self._outbox.append((0.0, _CLOSE))
            self._wake.set()

    async def run_writer(self) -> None:
        """Send what is due, in order, one frame per `send_bytes` (Starlette's public API)."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    due, item = self._outbox[0]
                    if due:
                        wait = due - time.monotonic()
                        if wait > fault_rules.EARLY:
                            await asyncio.sleep(wait)
                            continue  # an abort may have replaced the queue meanwhile
                    self._outbox.popleft()
                    if item is _CLOSE:
                        self.alive = False
                        with contextlib.suppress(Exception):
                            await self.websocket.close(code=self._close_code)
                        return
                    await self.websocket.send_bytes(item)
        except Exception as exc:  # noqa: BLE001 - a dead socket in any form: the client is gone
            log.debug("data channel: write failed: %s", exc)
        finally:
            self.alive = False
            self._outbox.clear()


# --- one session -----------------------------------------------------------------------------


class SessionRuntime:
    """A session's channel state and backend; survives reconnects, ends once."""

    def __init__(self, session: SandboxSession, context: SandboxContext) -> None:
        self.session = session
        self.context = context
        self.plan = plan_for(session)
        self.encryption = kms.for_session(session, self.plan.session_type)
        # The agent acks an input message after handling it (a pty write that blocks while
        # the pty is full), not on arrival: `receive` sends each ack once the shell took it.
        self.channel = Channel.for_server(window=WINDOW, ack_on_arrival=False)
        self._unwritten: deque[ClientMessage] = deque()
        """In-order input behind bytes the pty has not taken: the head is handled, its ack
        waits; the rest wait to be handled (the agent handles one message at a time)."""
        self._ack_pending: set[int] = set()
        """Input received in order and not acked yet (acked once handled)."""
        self.connection: Connection | None = None
        self.transcript: Transcript | None = (
            None if self.plan.is_port else transcript_for(session, context)
        )
        self.size: tuple[int, int] | None = None
        self.flow_started = False
        self.backend_started = False
        self.handshake_begun = 0.0
        self.ending = False
        self.ended = asyncio.Event()
        self._shell: PtyShell | PipeCommand | None = None
        self._port: MuxServer | StreamForwarder | None = None
        self._shell_done = asyncio.Event()
        self._acked = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._paused = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_activity = time.monotonic()
        self._watchdog = asyncio.get_running_loop().create_task(self._idle_watchdog())
        loop = asyncio.get_running_loop()

        def terminated(_session: SandboxSession) -> None:
            # Called from moto's thread pool (TerminateSession): hop onto the loop.
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing left to close
                loop.call_soon_threadsafe(self._terminated_by_api)

        context.registry.on_terminate(session.session_id, terminated)

    # -- connections --

    def attach(self, connection: Connection) -> None:
        """A (re)connected client: replace any older socket, resend what it has not acked."""
        self.last_activity = time.monotonic()
        old, self.connection = self.connection, connection
        if old is not None:
            old.abort(1000)
        connection.push(self.channel.unacked_frames())
        if not self.flow_started:
            self.flow_started = True
            if self.plan.handshake or self.encryption is not None:
                self.handshake_begun = time.monotonic()
                properties = self.plan.properties
                extra = [self.encryption.request_action()] if self.encryption else None
                self._send(
                    PayloadType.HANDSHAKE_REQUEST,
                    handshake_request_payload(
                        AGENT_VERSION, self.plan.session_type, properties, extra
                    ),
                )
            else:
                self._start_backend()

    def detach(self, connection: Connection) -> None:
        if self.connection is connection:
            self.connection = None

    # -- outgoing --

    def _send(self, payload_type: int, payload: bytes) -> None:
        if self.encryption is not None and self.encryption.cipher is not None:
            payload = self.encryption.cipher.seal(payload_type, payload)
        frames = self.channel.send(payload_type, payload)
        if self.connection is not None:
            self.connection.push(frames)
        if not self._paused and self.channel.queued >= QUEUE_HIGH:
            self._paused = True
            self._writable.clear()
            if self._shell is not None:
                self._shell.pause_reading()

    def _maybe_resume(self) -> None:
        if self._paused and self.channel.queued < QUEUE_HIGH // 2:
            self._paused = False
            self._writable.set()
            if self._shell is not None:
                self._shell.resume_reading()

    def tick(self, connection: Connection) -> None:
        """Resend the oldest unacked message when due; apply the drop-connection fault."""
        try:
            connection.push(self.channel.due_retransmissions())
        except RetransmissionExhausted as exc:
            log.info("session %s: %s; dropping the socket", self.session.session_id, exc)
            connection.abort()
            return
        faults = self.context.faults
        drop_after = faults.drop_sessions_after
        if drop_after is not None and time.monotonic() - connection.opened >= drop_after:
            log.info("session %s: fault: dropping the websocket", self.session.session_id)
            connection.abort()
        elif faults.outage:
            log.info("session %s: fault: data-channel outage", self.session.session_id)
            connection.abort()
        elif not connection.closing and fault_rules.lifetime_over(faults, connection.opened):
            log.info("session %s: socket lifetime over: close 1000", self.session.session_id)
            connection.close(1000)

    # PortLink, for the port backends
    def send_data(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK_LIMIT):
            self._send(PayloadType.OUTPUT, data[start : start + CHUNK_LIMIT])

    def send_flag(self, flag: PayloadFlag) -> None:
        self._send(PayloadType.FLAG, flag_payload(flag))

    async def writable(self) -> None:
        await self._writable.wait()

    def end(self, message: str = "") -> None:
        self._spawn(self._finish(message=message))

    # -- incoming --

    def receive(self, connection: Connection, frame: bytes) -> None:
        """One frame from the client: deliver in order, act on it, ack it (in the agent's order).

        In-order input is handled first and acked after: while the pty has not taken a message's
        bytes (its child is not reading), that message and the ones after it wait, unacked, so
        the client sees the agent's back-pressure (no ack, then its own resends) instead of a
        sandbox that acks what the shell never read. Acks and the client's other messages are
        still read meanwhile: unlike the agent, our output has a window, and it must not stall
        behind input the shell is not reading.
        """
        try:
            msg = decode(frame)
            refusal = self._refusal(msg)
            if refusal is not None:
                log.info(
                    "session %s: refused input %d: %s",
                    self.session.session_id,
                    msg.sequence_number,
                    refusal,
                )
                return
            result = self.channel.receive(msg)
        except ProtocolError as exc:
            log.info("session %s: dropped a frame: %s", self.session.session_id, exc)
            return
        self.last_activity = time.monotonic()  # input or acks: the session is in use
        if msg.message_type == ACKNOWLEDGE:
            connection.push(result.send)
            self._acked.set()
            self._maybe_resume()
            return
        if result.ack_after is not None:
            self._ack_pending.add(result.ack_after.sequence_number)
        elif not result.deliver and msg.sequence_number in self._ack_pending:
            result.send.clear()  # a resend of input still waiting for the pty: acked when written
        connection.push(result.send)
        for delivered in result.deliver:
            self._deliver(delivered)

    def _refusal(self, msg: ClientMessage) -> str | None:
        """Why the agent would refuse this in-order input, unacked and uncounted, or None.

        Its `handleStreamDataMessage` acks the expected message and counts it only once the
        handler took it; on an error it does neither, so the client's resend of the same
        sequence number is handled again (`datachannel.go`). The shell handler refuses input
        until its pty exists (ErrHandlerNotReady) and a Size that does not unmarshal
        (`shell_unix.go` InputStreamMessageHandler). Refused here, before the channel counts
        the message; out-of-order input is acked and buffered first, as by the agent.
        """
        if (
            msg.message_type != INPUT_STREAM_DATA
            or msg.sequence_number != self.channel.expected_seq
            or not self.backend_started  # handshake in progress: acked and dropped
            or msg.payload_type
            in (PayloadType.HANDSHAKE_RESPONSE, PayloadType.ENC_CHALLENGE_RESPONSE)
            or self.plan.is_port
            or self.plan.session_type == commands.NON_INTERACTIVE
        ):
            return None
        if self._shell is None:
            return "the pty does not exist yet"
        if msg.payload_type == PayloadType.SIZE:
            try:
                parse_size(msg.payload)
            except ProtocolError as exc:
                return f"invalid size message: {exc}"
        return None

    def _deliver(self, msg: ClientMessage) -> None:
        """Handle one in-order message now, or queue it behind input the pty has not taken."""
        if self._unwritten:
            self._unwritten.append(msg)
            return
        self._handle(msg)
        if self._pty_full(msg):
            self._unwritten.append(msg)  # handled; its ack waits until the pty has it all
            self._spawn(self._drain_unwritten())
        else:
            self._ack_handled(msg)

    def _pty_full(self, msg: ClientMessage) -> bool:
        shell = self._shell
        return (
            msg.payload_type == PayloadType.OUTPUT
            and isinstance(shell, PtyShell)
            and shell.unwritten > 0
        )

    def _ack_handled(self, msg: ClientMessage) -> None:
        self._ack_all([msg])

    def _ack_all(self, handled: Iterable[ClientMessage]) -> None:
        """Ack messages the pty has taken, in order, as one push (each still its own ack)."""
        pending = self._ack_pending
        acks = []
        for msg in handled:
            seq = msg.sequence_number
            if seq in pending:
                pending.discard(seq)
                acks.append(encode_ack(msg))
        if acks and self.connection is not None:
            self.connection.push(acks)

    async def _drain_unwritten(self) -> None:
        """Wait until the pty took what was handled, ack that, handle what queued meanwhile.

        What queued is handled as one batch (the pty's buffer takes it in order), so a paste
        into a slow reader costs a wake-up per pty drain, not one per message.
        """
        waiting = self._unwritten
        handled = 1  # the head was handled by `_deliver`
        while True:
            shell = self._shell
            pending = shell.drained() if isinstance(shell, PtyShell) else None
            if pending is not None:
                await pending
            self._ack_all([waiting.popleft() for _ in range(handled)])
            if not waiting:
                return
            for msg in waiting:
                self._handle(msg)
            handled = len(waiting)

    def _handle(self, msg: ClientMessage) -> None:
        if msg.message_type != INPUT_STREAM_DATA or self.ending:
            return  # the client has nothing else to say to the agent
        kind = msg.payload_type
        try:
            if kind == PayloadType.OUTPUT and self.encryption is not None:
                self._input(self._decrypt_input(msg.payload))
            elif kind == PayloadType.OUTPUT:
                self._input(msg.payload)
            elif kind == PayloadType.SIZE:
                cols, rows = parse_size(msg.payload)
                # as the agent's SetSize: any size, 0x0 included, as uint16 (`shell_unix.go`)
                self.size = (rows & 0xFFFF, cols & 0xFFFF)
                if self._shell is not None:
                    self._shell.resize(*self.size)
            elif kind == PayloadType.HANDSHAKE_RESPONSE:
                self._handshake_response(msg.payload)
            elif kind == PayloadType.ENC_CHALLENGE_RESPONSE:
                self._challenge_response(msg.payload)
            elif kind == PayloadType.FLAG:
                self._flag(parse_flag(msg.payload))
        except ProtocolError as exc:
            log.info("session %s: ignored input: %s", self.session.session_id, exc)

    def _input(self, data: bytes) -> None:
        if not self.backend_started:
            # The agent acks and drops stream data while its handshake is in progress
            # ("Handshake still in progress, ignore stream data message").
            return
        if self._shell is not None:
            self._shell.write(data)
        elif self._port is not None:
            self._port.feed(data)

    def _handshake_response(self, payload: bytes) -> None:
        if self.backend_started:
            return
        response = parse_handshake_response(payload)
        status = response.status_of(SESSION_TYPE_ACTION)
        if status != ActionStatus.SUCCESS:
            detail = "; ".join(response.errors) or f"SessionType action status {status}"
            self.end(f"Handshake failed: {detail}")
            return
        if self.encryption is not None:
            try:  # kms:Decrypt of the client's data key, then the challenge (agent order)
                self.encryption.finalize(response.processed_actions)
            except ProtocolError as exc:
                self.end(f"Encountered error while initiating handshake. {exc}")
                return
            self._send(PayloadType.ENC_CHALLENGE_REQUEST, self.encryption.challenge_request())
            self._spawn(self._challenge_deadline())
            return
        self._complete_handshake()

    def _complete_handshake(self, customer_message: str = "") -> None:
        elapsed_ns = int((time.monotonic() - self.handshake_begun) * 1e9)
        self._send(
            PayloadType.HANDSHAKE_COMPLETE, handshake_complete_payload(elapsed_ns, customer_message)
        )
        self._start_backend()

    def _challenge_response(self, payload: bytes) -> None:
        if self.encryption is None or self.encryption.confirmed or self.backend_started:
            return
        try:
            self.encryption.verify(payload)
        except ProtocolError as exc:
            self.end(f"Encountered error while initiating handshake. {exc}")
            return
        self._complete_handshake(kms.ENCRYPTED_CUSTOMER_MESSAGE)

    async def _challenge_deadline(self) -> None:
        await asyncio.sleep(kms.HANDSHAKE_TIMEOUT)
        if self.encryption is not None and not self.encryption.confirmed:
            self.end("Encountered error while initiating handshake. " + kms.CHALLENGE_TIMEOUT)

    def _decrypt_input(self, payload: bytes) -> bytes:
        """Client Output is encrypted once the key is set; anything else is dropped (logged)."""
        assert self.encryption is not None
        if self.encryption.cipher is None:
            raise ProtocolError("input before the encryption key was set up")
        return self.encryption.cipher.open(PayloadType.OUTPUT, payload)

    def _flag(self, flag: int) -> None:
        if flag == PayloadFlag.TERMINATE_SESSION:
            self._spawn(self._finish(kill=True))
        elif flag == PayloadFlag.DISCONNECT_TO_PORT and self._port is not None:
            self._port.disconnect()

    # -- backends --

    def _start_backend(self) -> None:
        self.backend_started = True
        plan = self.plan
        if plan.is_port:
            if not plan.port:
                self.end("Invalid portNumber parameter.")
                return
            refusal = remote_host_refusal((plan.properties or {}).get("host"))
            if refusal is not None:
                self.end(refusal)
                return
            backend_type = MuxServer if plan.multiplexed else StreamForwarder
            self._port = backend_type(plan.host, plan.port, self)
            self._port.start()
        else:
            instance = self.session.instance
            home = working_directory(instance)
            run = plan.run or commands.plan_command(commands.STANDARD_STREAM, {}, {})
            if run.error is not None:
                self._spawn(self._refuse_command(run.error))
                return
            if not run.pty:
                self._shell = PipeCommand(
                    list(run.argv),
                    cwd=home,
                    env=shell_environment(instance, home, self.session.run_as_user or "ssm-user"),
                    on_output=self._shell_output,
                    on_stderr=self._shell_stderr,
                    on_exit=self._shell_exit,
                    separate=run.separate_streams,
                    stdout_prefix=run.stdout_prefix,
                    stderr_prefix=run.stderr_prefix,
                )
            else:
                delay = PTY_START_DELAY
                if delay > 0:  # the pty comes later; input meanwhile is refused (`receive`)
                    asyncio.get_running_loop().call_later(delay, self._start_pty, run)
                else:
                    self._start_pty(run)
                return
            try:
                self._shell.start()
            except OSError as exc:
                self._shell = None
                self.end(f"Unable to start the shell: {exc}")
                return

    def _start_pty(self, run: commands.CommandPlan) -> None:
        if self.ending:
            return
        instance = self.session.instance
        home = working_directory(instance)
        pty = PtyShell(
            list(run.argv),
            cwd=home,
            env=shell_environment(instance, home, self.session.run_as_user or "ssm-user"),
            on_output=self._shell_output,
            on_exit=self._shell_exit,
            size=self.size or shell.AGENT_START_SIZE,
            read_delay=shell.AGENT_START_DELAY,
        )
        try:
            pty.start()
        except OSError as exc:
            self.end(f"Unable to start the shell: {exc}")
            return
        self._shell = pty

    def _shell_output(self, chunk: bytes) -> None:
        if self.transcript is not None:
            self.transcript.add(chunk)
        self._send(PayloadType.OUTPUT, chunk)

    def _shell_stderr(self, chunk: bytes) -> None:
        if self.transcript is not None:
            self.transcript.add(chunk)
        self._send(PayloadType.STDERR, chunk)

    def _shell_exit(self, status: ExitStatus) -> None:
        self._shell_done.set()
        if self.ending:
            return
        # Only processCommandsWithOutputStreamSeparate calls sendExitCode.
        code = status.as_code if self.plan.separate_streams else None
        self._spawn(self._finish(exit_code=code))

    async def _refuse_command(self, error: str) -> None:
        """A document the agent cannot run: its error as StdErr (after its 1 s sleep), the end."""
        await asyncio.sleep(shell.AGENT_ERROR_DELAY)
        self._shell_stderr(error.encode())
        await self._finish()

    # -- the end --

    def _terminated_by_api(self) -> None:
        """TerminateSession (any thread, through call_soon_threadsafe): close the channel."""
        if not self.ending:
            self._spawn(self._finish(kill=True))

    async def _finish(
        self, *, exit_code: int | None = None, message: str = "", kill: bool = False
    ) -> None:
        if self.ending:
            return
        self.ending = True
        sid = self.session.session_id
        try:
            if kill:
                await self._stop_backend()
            if exit_code is not None:
                self._send(PayloadType.EXIT_CODE, exit_code_payload(exit_code))
            if not kill:
                await self._flush()
            if self.transcript is not None and self.backend_started:
                errors = await asyncio.get_running_loop().run_in_executor(
                    None, write_transcript, self.context, self.session, self.transcript
                )
                for destination, error in errors.items():
                    log.warning("session %s: transcript to %s failed: %s", sid, destination, error)
        finally:
            if self._watchdog is not asyncio.current_task():
                self._watchdog.cancel()
            self.context.registry.terminate(sid)
            if self._port is not None:
                self._port.close()
            if self._shell is not None and not self._shell.finished:
                self._shell.kill()
            connection = self.connection
            if connection is not None:
                connection.push([encode(channel_closed_message(sid, message))])
                connection.close()
            if _RUNTIMES.get(sid) is self:
                del _RUNTIMES[sid]
            self.ended.set()

    async def _stop_backend(self) -> None:
        if self._port is not None:
            self._port.close()
        if self._shell is not None and not self._shell.finished:
            self._shell.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._shell_done.wait(), KILL_WAIT)

    async def _flush(self) -> None:
        """Wait until the client has acked everything, while it keeps making progress."""
        while not self.channel.idle:
            self._acked.clear()
            limit = FLUSH_STALL if self.connection is not None else FLUSH_RECONNECT
            try:
                await asyncio.wait_for(self._acked.wait(), limit)
            except TimeoutError:
                log.info(
                    "session %s: %d message(s) never acked at the end",
                    self.session.session_id,
                    self.channel.unacked + self.channel.queued,
                )
                return

    async def _idle_watchdog(self) -> None:
        while not self.ending:
            await asyncio.sleep(min(IDLE_CHECK, IDLE_TIMEOUT))
            if not self.ending and time.monotonic() - self.last_activity >= IDLE_TIMEOUT:
                log.info("session %s: idle, terminating", self.session.session_id)
                self._spawn(self._finish(kill=True, message=IDLE_MESSAGE))
                return

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_for_shutdown(self) -> None:
        """End the session as TerminateSession would, and let channel_closed reach the client."""
        connection = self.connection
        await self._finish(kill=True, message="The sandbox is shutting down.")
        await self.ended.wait()
        if connection is not None and connection.writer_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(connection.writer_task), 1.0)

    def kill_now(self) -> None:
        """Sandbox exit: no child may outlive it."""
        if self._shell is not None:
            self._shell.kill(wait=True)
        if self._port is not None:
            self._port.close()


_RUNTIMES: dict[str, SessionRuntime] = {}


def runtime_for(session: SandboxSession, context: SandboxContext) -> SessionRuntime:
    runtime = _RUNTIMES.get(session.session_id)
    if runtime is None:
        runtime = SessionRuntime(session, context)
        _RUNTIMES[session.session_id] = runtime
    return runtime


# --- the route's entry point -----------------------------------------------------------------


async def serve(websocket: Any, session: SandboxSession, context: SandboxContext) -> None:
    """Run one websocket connection of `session` until it closes (see the module docstring)."""
    await websocket.accept()
    client_id = await _open_data_channel(websocket, session)
    if client_id is None:
        return
    runtime = runtime_for(session, context)
    if not session.active and not runtime.flow_started:
        # TerminateSession landed between the token check and the runtime's listener.
        _RUNTIMES.pop(session.session_id, None)
        await _refuse(websocket, "session has ended")
        return
    faults = context.faults
    connection = Connection(websocket, client_id, faults)
    connection.writer_task = asyncio.get_running_loop().create_task(connection.run_writer())
    ticker = asyncio.get_running_loop().create_task(_tick(runtime, connection))
    # the latency fault holds incoming frames too (in order), so the RTT is 2 x latency
    incoming = fault_rules.DelayLine(
        lambda frame: runtime.receive(connection, frame) if connection.alive else None
    )
    runtime.attach(connection)
    try:
        while connection.alive:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                break
            frame = message.get("bytes")
            if frame is None:
                text = message.get("text")
                if text is None:
                    continue
                frame = text.encode("utf-8", errors="surrogateescape")
            if faults.data_channel_latency or incoming.pending:
                incoming.put(frame, faults.data_channel_latency)
            else:
                runtime.receive(connection, frame)
    except Exception as exc:  # noqa: BLE001 - the socket died under us: keep the session
        log.debug("session %s: socket error: %s", session.session_id, exc)
    finally:
        await incoming.aclose()
        runtime.detach(connection)
        ticker.cancel()
        if connection.alive:
            connection.alive = False
            connection.writer_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connection.writer_task


async def _open_data_channel(websocket: Any, session: SandboxSession) -> str | None:
    """The first text frame: its token must be the session's current one. Returns the ClientId."""
    try:
        message = await asyncio.wait_for(websocket.receive(), FIRST_FRAME_TIMEOUT)
    except TimeoutError:
        await _refuse(websocket, "no open-data-channel message")
        return None
    if message.get("type") == "websocket.disconnect":
        return None
    raw = message.get("text") or message.get("bytes") or b""
    try:
        opening = parse_open_data_channel(raw)
    except ProtocolError as exc:
        await _refuse(websocket, str(exc))
        return None
    if not session.active:
        await _refuse(websocket, "session has ended")
        return None
    if not hmac.compare_digest(opening.token_value.encode(), session.token.encode()):
        log.info("session %s: refused a connection with a wrong token", session.session_id)
        await _refuse(websocket, "invalid token")
        return None
    return opening.client_id


async def _refuse(websocket: Any, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=POLICY_VIOLATION, reason=reason[:100])


async def _tick(runtime: SessionRuntime, connection: Connection) -> None:
    while connection.alive:
        await asyncio.sleep(TICK)
        runtime.tick(connection)


async def shutdown(timeout: float = 3.0) -> None:
    """The sandbox is exiting: end every session (channel_closed, transcript), kill what is left.

    Clients get a clean `channel_closed` instead of a dead socket (which would send the official
    plugin into ResumeSession retries against a sandbox that is gone); then no shell survives.
    """
    runtimes = list(_RUNTIMES.values())
    if runtimes:
        ending = asyncio.gather(
            *(runtime.close_for_shutdown() for runtime in runtimes), return_exceptions=True
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ending, timeout)
    kill_all()


def kill_all() -> None:
    """Kill every session's shell and target connections now (synchronous, loop or not)."""
    for runtime in list(_RUNTIMES.values()):
        with contextlib.suppress(Exception):
            runtime.kill_now()
    _RUNTIMES.clear()
