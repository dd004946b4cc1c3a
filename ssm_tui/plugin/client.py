"""An asyncio data-channel client: what `session-manager-plugin` does on the wire, in-process.

`DataChannelClient` opens the StreamUrl with `websockets`, sends the open-data-channel text frame
(token, ClientId, RequestId, ClientVersion), answers the agent's handshake (session type, and
KMS encryption when the Session Manager preferences name a key: `plugin/crypto.py`), and streams:

    async with DataChannelClient(url, token, session_id=sid, on_output=write) as client:
        session_type = await client.wait_ready()     # "Standard_Stream", "Port", ...
        await client.resize(120, 40)
        await client.send_input(b"ls\\r")             # any size: chunked, window kept full
        exit_code = await client.wait_closed()       # ExitCode payload, or None

Reliability (acks, retransmission, reordering) is `channel.Channel`. If the socket drops without
`channel_closed` (the service's hourly close 1000, a ping timeout on a dead link, an outage), the
client reconnects as the newest plugin does: it asks `resume` (the ResumeSession API) for a new
token and StreamUrl, opens that URL with the same ClientId, and resends everything
unacknowledged; sequence numbers continue, so nothing is lost or duplicated. It keeps trying for
minutes with capped backoff (`reconnect.py` has the rules), reports progress through `on_status`
("reconnecting…"), and gives up within seconds when the endpoint refuses connections. Without a
`resume` callback it retries the token it has. A session that cannot be reached again ends with
`SessionError`. `connect_options(url)` supplies TLS trust, proxy and SigV4 headers per dial.

The token is never logged; `repr()` of this object does not show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from ssm_tui.plugin import crypto
from ssm_tui.plugin import messages as m
from ssm_tui.plugin import reconnect as rc
from ssm_tui.plugin.channel import Channel, RetransmissionExhausted

log = logging.getLogger(__name__)

CLIENT_VERSION = "1.2.764.0"
"""The plugin version we claim: protocol features of the official plugin up to this release, and
high enough that aws-cli passes the StartSession response through the environment (> 1.2.497.0)
without its "outdated plugin" warning (>= 1.2.764.0)."""

CHUNK_SIZE = m.MAX_CHUNK
"""Bytes per input message: what the official plugin and agent use, safe with the real service."""
CLIENT_WINDOW = 2048
"""Input messages in flight without an ack: 2 MB, so a 1 MB paste needs one round trip even at
50 ms RTT (the agent keeps up to 100 000 out of order, `IncomingMessageBufferCapacity` in its
`session/config/config.go`, so this is well within what it accepts)."""
PING_INTERVAL = 5.0
PING_TIMEOUT = 10.0
"""A websocket ping every 5 s, and a pong due within 10 s: a dead link (no FIN, no RST: Wi-Fi
gone, a NAT that forgot us) is noticed in at most 15 s, then the session resumes."""
OPEN_TIMEOUT = 15.0
"""One dial (TCP, TLS, upgrade) may take this long (the official plugin waits 45 s)."""
RESUME_TIMEOUT = 15.0
"""One ResumeSession call (with its botocore retries) may take this long."""

ResumeFn = Callable[[], Awaitable[tuple[str, str | None] | None]]
"""Returns (new token, new StreamUrl or None) from ResumeSession, or None if the session ended."""
OutputFn = Callable[[int, bytes], None]
"""Receives (payload type, bytes) of every Output / Error / StdErr payload, in order."""
DataKeyFn = Callable[[str, dict[str, str]], Awaitable[tuple[bytes, bytes]]]
"""kms:GenerateDataKey(KeyId, EncryptionContext) with 64 bytes: (CiphertextBlob, Plaintext)."""
ConnectOptionsFn = Callable[[str], Awaitable[dict[str, Any]]]
"""Keyword arguments for `websockets.connect` for one dial of a URL (ssl, proxy, headers)."""
StatusFn = Callable[[str], None]
"""Receives status lines for the user ("reconnecting…", "reconnected")."""
StateFn = Callable[[str, str], None]
"""Receives (state, why) when the connection state changes: "reconnecting", then "connected"."""


class SessionError(m.ProtocolError):
    """The session could not be opened or continued; the message says why, for the user."""


class KMSEncryptionNotSupported(SessionError):
    """The agent asked for KMS encryption and this client has no way to call KMS."""


class KMSEncryptionFailed(SessionError):
    """The KMS data key or the agent's encryption challenge failed; the message says why."""


class DataChannelClient:
    """One Session Manager data channel, seen from the client side."""

    def __init__(
        self,
        stream_url: str,
        token: str,
        *,
        session_id: str = "",
        client_id: str | None = None,
        client_version: str = CLIENT_VERSION,
        resume: ResumeFn | None = None,
        on_output: OutputFn | None = None,
        on_flag: Callable[[int], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        window: int = CLIENT_WINDOW,
        chunk_size: int = CHUNK_SIZE,
        open_attempts: int = 6,
        target_id: str = "",
        generate_data_key: DataKeyFn | None = None,
        connect_options: ConnectOptionsFn | None = None,
        on_status: StatusFn | None = None,
        on_state: StateFn | None = None,
        reconnect_budget: float = rc.RECONNECT_BUDGET,
        refused_budget: float = rc.REFUSED_BUDGET,
        first_open_budget: float = rc.FIRST_OPEN_BUDGET,
        ping_interval: float | None = PING_INTERVAL,
        ping_timeout: float | None = PING_TIMEOUT,
    ) -> None:
        self.stream_url = stream_url
        self._token = token
        self.session_id = session_id
        self.client_id = client_id or str(uuid.uuid4())
        self.client_version = client_version
        self._resume = resume
        self._on_output = on_output
        self._on_flag = on_flag
        self._on_message = on_message
        self.chunk_size = chunk_size
        self.open_attempts = open_attempts
        self.target_id = target_id
        self._generate_data_key = generate_data_key
        self._cipher: crypto.SessionCipher | None = None
        self._connect_options = connect_options
        self._on_status = on_status
        self._on_state = on_state
        self.reconnect_budget = reconnect_budget
        self.refused_budget = refused_budget
        self.first_open_budget = first_open_budget
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.backoff = rc.Backoff()
        self.channel = Channel.for_client(window=window)
        self.session_type: str | None = None
        self.properties: dict[str, Any] = {}
        self.agent_version = ""
        self.exit_code: int | None = None
        self.closed_output = ""
        """The channel_closed message's Output text (the reason the service gave)."""
        self.reconnects = 0
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._window_free = asyncio.Event()
        self._window_free.set()
        self._error: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[bytes | None] | None = None if on_output else asyncio.Queue()
        self._stopping = False
        self._send_lock = asyncio.Lock()
        self._input_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"DataChannelClient(session_id={self.session_id!r}, type={self.session_type!r})"

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> DataChannelClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the socket (retrying as the official plugin does) and start the background tasks."""
        await self._open_with_retries(first=True)
        self._tasks.append(asyncio.create_task(self._run(), name="datachannel-reader"))
        self._tasks.append(asyncio.create_task(self._retransmit(), name="datachannel-resend"))

    async def close(self) -> None:
        """Stop the tasks and close the socket. Does not end the session (see TerminateSession)."""
        self._stopping = True
        if self._ws is not None:
            # while the reader task still drains incoming frames, so the close handshake completes
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2)
            with contextlib.suppress(Exception):
                self._ws.transport.abort()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._finish()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_ready(self) -> str:
        """Wait until the session type is known (handshake done or first output); return it."""
        ready = asyncio.create_task(self._ready.wait())
        closed = asyncio.create_task(self._closed.wait())
        try:
            await asyncio.wait({ready, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            closed.cancel()
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise SessionError(self._closed_reason())
        assert self.session_type is not None
        return self.session_type

    async def wait_closed(self) -> int | None:
        """Wait for the end of the session; the remote exit status if the agent sent one.

        Raises `SessionError` when the session ended because of a failure (not channel_closed).
        """
        await self._closed.wait()
        if self._error is not None:
            raise self._error
        return self.exit_code

    def _closed_reason(self) -> str:
        return self.closed_output or "the session ended"

    def _finish(self, error: BaseException | None = None) -> None:
        if error is not None and self._error is None and not self._closed.is_set():
            self._error = error
        self._closed.set()
        self._window_free.set()
        if self._queue is not None:
            self._queue.put_nowait(None)

    # --- sending --------------------------------------------------------------------------------

    async def send_input(self, data: bytes, payload_type: int = m.PayloadType.OUTPUT) -> None:
        """Send bytes (keystrokes, pasted text, TCP data) in chunks; waits while the window is full.

        The wait is what keeps a paste streaming at the speed the acks come back without piling up
        unbounded memory.
        """
        data = bytes(data)
        size = self.chunk_size
        async with self._input_lock:  # one call's chunks stay contiguous (smux frames rely on it)
            start = 0
            while start < len(data):
                await self._wait_window()
                # every chunk the window has room for, as one batch of frames and one write
                end = min(len(data), start + max(1, self.channel.room) * size)
                await self._send_many(
                    payload_type, [data[i : i + size] for i in range(start, end, size)]
                )
                start = end

    async def resize(self, cols: int, rows: int) -> None:
        """Tell the agent the terminal size (the remote pty gets it)."""
        await self._send(m.PayloadType.SIZE, m.size_payload(cols, rows))

    async def send_flag(self, flag: int) -> None:
        """A Flag message (port sessions: DisconnectToPort, TerminateSession)."""
        await self._send(m.PayloadType.FLAG, m.flag_payload(flag))

    async def _wait_window(self) -> None:
        while self.channel.queued and not self._closed.is_set():
            self._window_free.clear()
            await self._window_free.wait()
        if self._closed.is_set():
            raise SessionError(self._error and str(self._error) or self._closed_reason())

    @property
    def encrypted(self) -> bool:
        """The agent asked for KMS encryption and the data key is set up."""
        return self._cipher is not None

    async def _send(self, payload_type: int, payload: bytes) -> None:
        await self._send_many(payload_type, [payload])

    async def _send_many(self, payload_type: int, payloads: list[bytes]) -> None:
        if self._closed.is_set():
            raise SessionError(str(self._error) if self._error else self._closed_reason())
        if self._cipher is not None:
            payloads = [self._cipher.seal(payload_type, payload) for payload in payloads]
        await self._write(self.channel.send_many(payload_type, payloads))

    async def _write(self, frames: list[bytes]) -> None:
        """Write frames; a dead socket loses nothing (the channel resends after a reconnect)."""
        if not frames:
            return
        ws = self._ws
        if ws is None:
            return
        async with self._send_lock:
            try:
                if len(frames) == 1:
                    await ws.send(frames[0])
                else:
                    await _send_batch(ws, frames)
            except websockets.ConnectionClosed:
                pass
        if not self.channel.queued:
            self._window_free.set()

    # --- the socket -----------------------------------------------------------------------------

    async def _open(self, url: str, token: str) -> None:
        options = await self._connect_options(url) if self._connect_options is not None else {}
        ws = await connect(
            url,
            compression=None,
            max_size=16 * 1024 * 1024,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=2,
            user_agent_header=f"ssm-tui-plugin/{self.client_version}",
            **options,
        )
        try:
            await ws.send(
                m.open_data_channel_json(
                    token, self.client_id, str(uuid.uuid4()), client_version=self.client_version
                )
            )
        except BaseException:
            ws.transport.abort()
            raise
        self._ws = ws

    def _status(self, text: str) -> None:
        log.info("session %s: %s", self.session_id, text)
        if self._on_status is not None:
            self._on_status(text)

    async def _open_with_retries(self, first: bool) -> None:
        """The first open, with StartSession's token: a few tries, seconds, not minutes."""
        from ssm_tui.plugin.wsconnect import DialSettingsError

        attempts = rc.Attempts(budget=self.first_open_budget, refused_budget=self.refused_budget)
        delays = self.backoff.delays()
        while True:
            try:
                await self._open(self.stream_url, self._token)
                return
            except DialSettingsError as exc:
                raise SessionError(str(exc)) from None
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                why = attempts.failed(exc)
                if why is None and attempts.count >= self.open_attempts:
                    why = f"{attempts.count} tries failed"
                log.debug("data channel open failed (try %d): %s", attempts.count, exc)
                if why is not None:
                    raise SessionError(
                        f"cannot open the session's data channel ({why}): {rc.describe(exc)}"
                    ) from None
            await asyncio.sleep(next(delays))

    async def _reconnect(self, reason: str) -> None:
        """ResumeSession + open, again and again, within the rules of `reconnect.py`."""
        from ssm_tui.plugin.wsconnect import DialSettingsError

        attempts = rc.Attempts(budget=self.reconnect_budget, refused_budget=self.refused_budget)
        attempts.status_due(reason)
        self._status(f"reconnecting… ({reason})")
        if self._on_state is not None:
            self._on_state("reconnecting", reason)
        delays = self.backoff.delays()
        while True:
            try:
                url, token = self.stream_url, self._token
                if self._resume is not None:
                    resumed = await asyncio.wait_for(self._resume(), RESUME_TIMEOUT)
                    if resumed is None:
                        raise SessionError(f"Session: {self.session_id} timed out.")
                    token, new_url = resumed
                    self._token = token
                    if new_url:
                        self.stream_url = url = new_url  # the newest plugin adopts it too
                await self._open(url, token)
                self.reconnects += 1
                self._status(f"reconnected after {attempts.elapsed():.1f} s")
                if self._on_state is not None:
                    self._on_state("connected", f"reconnected after {attempts.elapsed():.1f} s")
                return
            except (SessionError, asyncio.CancelledError):
                raise
            except DialSettingsError as exc:
                raise SessionError(str(exc)) from None
            except Exception as exc:  # ResumeSession (botocore) and dial failures alike
                why = attempts.failed(exc)
                detail = rc.describe(exc)
                log.debug("reconnect try %d failed: %s", attempts.count, detail)
                if why is not None:
                    raise SessionError(f"lost the session: {why} ({detail})") from None
                if attempts.status_due(detail):
                    self._status(
                        f"still reconnecting… {attempts.elapsed():.0f} s, "
                        f"try {attempts.count}: {detail}"
                    )
            await asyncio.sleep(next(delays))

    async def _run(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                try:
                    async for frame in ws:
                        await self._on_frame(frame)
                        if self._closed.is_set():
                            return
                except websockets.ConnectionClosed:
                    pass
                if self._closed.is_set() or self._stopping:
                    return
                reason = _drop_reason(ws)
                log.debug("data channel socket dropped (%s); resuming %s", reason, self.session_id)
                with contextlib.suppress(Exception):
                    ws.transport.abort()
                self._ws = None
                await self._reconnect(reason)
                await self._write(self.channel.unacked_frames())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._finish(exc if isinstance(exc, SessionError) else SessionError(str(exc)))
        finally:
            if self._closed.is_set() and self._ws is not None:
                with contextlib.suppress(Exception):
                    await self._ws.close()

    async def _retransmit(self) -> None:
        try:
            while not self._closed.is_set():
                delay = self.channel.next_deadline()
                await asyncio.sleep(0.1 if delay is None else max(0.01, min(delay, 0.1)))
                if self._ws is not None:
                    await self._write(self.channel.due_retransmissions())
        except RetransmissionExhausted as exc:
            self._finish(SessionError(f"the agent stopped acknowledging: {exc}"))

    # --- receiving ------------------------------------------------------------------------------

    async def _on_frame(self, frame: str | bytes) -> None:
        data = frame.encode() if isinstance(frame, str) else frame
        try:
            msg = m.decode(data)
            if msg.message_type == m.ACKNOWLEDGE:  # most frames of a paste: the short road
                freed = self.channel.ack(m.parse_ack(msg.payload))
                if freed:
                    await self._write(freed)
                return
            result = self.channel.receive(msg)
        except m.MessageDecodeError as exc:
            log.debug("dropping a bad frame: %s", exc)  # as the official plugin does
            return
        await self._write(result.send)
        for delivered in result.deliver:
            await self._handle(delivered)

    async def _handle(self, msg: m.ClientMessage) -> None:
        if msg.message_type == m.OUTPUT_STREAM_DATA:
            await self._handle_output(msg)
        elif msg.message_type == m.CHANNEL_CLOSED:
            closed = m.parse_channel_closed(msg.payload)
            self.closed_output = closed.output
            self._finish()
        else:
            log.debug("ignoring %s", msg.message_type)

    async def _handle_output(self, msg: m.ClientMessage) -> None:
        ptype = msg.payload_type
        if self._cipher is not None:
            try:
                msg = _with_payload(msg, self._cipher.open(ptype, msg.payload))
            except crypto.DecryptionError as exc:
                self._finish(KMSEncryptionFailed(f"output message {msg.sequence_number}: {exc}"))
                return
        try:
            if ptype == m.PayloadType.HANDSHAKE_REQUEST:
                await self._handshake(m.parse_handshake_request(msg.payload))
            elif ptype == m.PayloadType.HANDSHAKE_COMPLETE:
                done = m.parse_handshake_complete(msg.payload)
                if done.customer_message and self._on_message:
                    self._on_message(done.customer_message)
                if self.session_type is None:
                    self.session_type = "Standard_Stream"
                self._ready.set()
            elif ptype == m.PayloadType.ENC_CHALLENGE_REQUEST:
                await self._answer_challenge(msg.payload)
            elif ptype == m.PayloadType.EXIT_CODE:
                self.exit_code = m.parse_exit_code(msg.payload)
            elif ptype == m.PayloadType.FLAG:
                flag = m.parse_flag(msg.payload)
                if self._on_flag:
                    self._on_flag(flag)
            elif ptype in (m.PayloadType.OUTPUT, m.PayloadType.ERROR, m.PayloadType.STDERR):
                if not self._ready.is_set():
                    # shell sessions without KMS skip the handshake: output implies a shell
                    self.session_type = self.session_type or "Standard_Stream"
                    self._ready.set()
                if self._on_output is not None:
                    self._on_output(ptype, msg.payload)
                elif self._queue is not None and msg.payload:
                    self._queue.put_nowait(msg.payload)
            else:
                log.debug("ignoring payload type %s", ptype)
        except m.MessageDecodeError as exc:
            log.debug("bad payload (type %s): %s", ptype, exc)

    async def _handshake(self, request: m.HandshakeRequest) -> None:
        self.agent_version = request.agent_version
        processed: list[dict[str, Any]] = []
        errors: list[str] = []
        kms_error: SessionError | None = None
        for action in request.actions:
            kind = action.get("ActionType")
            if kind == m.SESSION_TYPE_ACTION:
                session_type = request.session_type
                if session_type in m.SHELL_SESSION_TYPES or session_type == m.PORT_SESSION_TYPE:
                    self.session_type = session_type
                    self.properties = request.properties
                    processed.append(processed_ok(kind))
                else:
                    error = f"unknown session type {session_type!r}"
                    errors.append(error)
                    processed.append(m.processed_action(kind, m.ActionStatus.FAILED, error=error))
            elif kind == m.KMS_ENCRYPTION_ACTION:
                try:
                    result = await self._set_up_kms(action.get("ActionParameters"))
                except SessionError as exc:  # no KMS caller, or GenerateDataKey failed
                    kms_error = exc
                    errors.append(str(exc))
                    processed.append(
                        m.processed_action(kind, m.ActionStatus.FAILED, error=str(exc))
                    )
                else:
                    processed.append(processed_ok(kind) | {"ActionResult": result})
            else:
                error = f"Unsupported action {kind}"
                processed.append(
                    m.processed_action(str(kind), m.ActionStatus.UNSUPPORTED, None, error)
                )
        await self._send(
            m.PayloadType.HANDSHAKE_RESPONSE,
            m.handshake_response_payload(self.client_version, processed, errors),
        )
        if kms_error is not None:
            self._finish(kms_error)
        elif self.session_type is None:
            self._finish(SessionError("unable to determine the session type: " + "; ".join(errors)))

    async def _set_up_kms(self, parameters: Any) -> dict[str, Any]:
        """GenerateDataKey with the agent's encryption context; the action's ActionResult."""
        if self._generate_data_key is None:
            raise KMSEncryptionNotSupported(_KMS_MESSAGE)
        try:
            request = crypto.parse_kms_request(parameters)
        except m.MessageDecodeError as exc:
            raise KMSEncryptionFailed(str(exc)) from None
        # A Challenge from the agent goes into the context too (ChallengeAcknowledgement).
        context = crypto.encryption_context(self.session_id, self.target_id, request.challenge)
        try:
            ciphertext, plaintext = await self._generate_data_key(request.key_id, context)
            self._cipher = crypto.SessionCipher(plaintext, agent=False)
        except Exception as exc:  # noqa: BLE001 - KmsError and friends: their text is the message
            raise KMSEncryptionFailed(str(exc)) from None
        return crypto.kms_response_result(ciphertext, request.challenge is not None)

    async def _answer_challenge(self, payload: bytes) -> None:
        """Decrypt the agent's challenge with its key, re-encrypt it with ours, send it back."""
        if self._cipher is None:
            self._finish(KMSEncryptionFailed("encryption challenge without a KMS handshake"))
            return
        try:
            challenge = self._cipher.decrypt(crypto.parse_challenge(payload))
        except m.MessageDecodeError as exc:
            self._finish(KMSEncryptionFailed(f"encryption challenge: {exc}"))
            return
        response = crypto.challenge_payload(self._cipher.encrypt(challenge))
        await self._send(m.PayloadType.ENC_CHALLENGE_RESPONSE, response)

    # --- output as an iterator ------------------------------------------------------------------

    async def output(self) -> AsyncIterator[bytes]:
        """Output payloads in order (only when no `on_output` callback was given)."""
        if self._queue is None:
            raise RuntimeError("this client delivers output to its on_output callback")
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            yield chunk


async def _send_batch(ws: ClientConnection, frames: list[bytes]) -> None:
    """Several binary messages in one write to the socket, not one system call each.

    `send_context` is websockets' own frame for writing through its Sans-I/O protocol (see its
    docstring): it checks the state on entry and drains (flow control) on exit; the frames are
    queued on the protocol, then handed to the transport as one buffer.
    """
    async with ws.send_context():
        protocol = ws.protocol
        for frame in frames:
            protocol.send_binary(frame)
        # (b"" in that list is websockets' half-close marker, queued only after a close frame)
        ws.transport.writelines([data for data in protocol.data_to_send() if data])


def _drop_reason(ws: ClientConnection) -> str:
    """Why a socket ended, in words for the status line."""
    sent = getattr(ws.protocol, "close_sent", None)
    if sent is not None and "ping" in (sent.reason or ""):
        return "no answer to pings: the link is dead"
    code, reason = ws.close_code, ws.close_reason or ""
    if code == 1000:
        return "the service closed the connection"
    if code is None or code == 1006:
        return "the connection was lost"
    return f"the connection closed with code {code}{': ' + reason if reason else ''}"


def processed_ok(action_type: str) -> dict[str, Any]:
    return m.processed_action(action_type, m.ActionStatus.SUCCESS)


def _with_payload(msg: m.ClientMessage, payload: bytes) -> m.ClientMessage:
    return msg if payload is msg.payload else dataclasses.replace(msg, payload=payload)


_KMS_MESSAGE = (
    "this session requires KMS encryption (the Session Manager preferences set a KMS key) "
    "and this client was started without a way to call kms:GenerateDataKey"
)
