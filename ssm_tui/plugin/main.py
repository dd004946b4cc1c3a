"""`ssm-tui-plugin`: a drop-in replacement for `session-manager-plugin`.

Same command line as the official binary (reference §2), so aws-cli and other tools can run it:

    ssm-tui-plugin RESPONSE REGION StartSession PROFILE REQUEST_JSON ENDPOINT

RESPONSE is the StartSession response as JSON, or the *name* of an environment variable starting
with `AWS_SSM_START_SESSION_RESPONSE` that holds it (read, then removed from our environment so no
child process inherits the token). `--version` prints a version aws-cli accepts for that
environment form. PROFILE, REGION and ENDPOINT serve ResumeSession when the socket drops.

Differences from the official plugin, on purpose:
- raw mode instead of cbreak (Ctrl-C/Z/\\ reach the remote pty as bytes; nothing is rewritten);
- stdin is sent in batches as large as the terminal gives, with a window of unacknowledged
  messages kept full, so a paste is not throttled to one 1 KB message per millisecond;
- the exit status is the remote command's when the agent sends one (NonInteractiveCommands),
  255 when the session could not be opened or continued, 128+N when killed by signal N;
- status lines go to stderr, so stdout carries only the session's output;
- a dropped socket is resumed for minutes, not seconds, with "reconnecting…" on stderr (or, run
  by the app, on its status pipe for the pane's label: `status.py`), and the session ends
  within seconds when the endpoint is gone;
- the `~.` `~?` `~~` `~-` escapes of the newest plugin work only when stdin is a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from ssm_tui.plugin import escapes, portforward
from ssm_tui.plugin.client import CLIENT_VERSION, DataChannelClient, SessionError
from ssm_tui.plugin.messages import PORT_SESSION_TYPE, PayloadFlag, PayloadType
from ssm_tui.plugin.status import StatusWriter
from ssm_tui.plugin.terminal import StdinReader, raw_mode, terminal_size, write_all

ENV_PREFIX = "AWS_SSM_START_SESSION_RESPONSE"
EXIT_FAILURE = 255
USAGE = (
    "usage: ssm-tui-plugin RESPONSE_JSON|AWS_SSM_START_SESSION_RESPONSE... REGION StartSession "
    "[PROFILE REQUEST_JSON ENDPOINT]\n"
    "       ssm-tui-plugin --version\n"
    "ssm-tui's Session Manager plugin, a drop-in for session-manager-plugin."
)


class UsageError(Exception):
    """A bad command line or StartSession response; the message is for the user."""


def status(text: str) -> None:
    """A status line for the user, on stderr (stdout is the session's output)."""
    sys.stderr.write(text.replace("\n", "\r\n") if _raw_active else text)
    sys.stderr.flush()


_raw_active = False


RESPONSE_FD_PREFIX = "fd:"


def read_response_fd(arg: str) -> str:
    """`fd:N` (ssm-tui's own launcher): the response is read once from inherited pipe N, which
    is then closed, so the token is in no environment, argv or open descriptor of ours."""
    try:
        fd = int(arg[len(RESPONSE_FD_PREFIX) :])
        with os.fdopen(fd, "rb") as pipe:
            return pipe.read().decode()
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read the StartSession response from {arg}: {exc}") from None


def load_response(arg: str) -> dict[str, str]:
    """The StartSession response from argv[1] or the environment variable it names."""
    if arg.startswith(RESPONSE_FD_PREFIX):
        value = read_response_fd(arg)
    elif arg.startswith(ENV_PREFIX):
        if arg not in os.environ:
            raise UsageError(f"environment variable {arg} is not set")
        value = os.environ.pop(arg)
    else:
        value = arg
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"the StartSession response is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("the StartSession response is not a JSON object")
    missing = [k for k in ("SessionId", "TokenValue", "StreamUrl") if not data.get(k)]
    if missing:
        raise UsageError(f"the StartSession response lacks {', '.join(missing)}")
    return {k: str(data[k]) for k in ("SessionId", "TokenValue", "StreamUrl")}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("ssm-tui-plugin is installed; aws-cli or ssm-tui runs it to open sessions.")
        print(USAGE)
        return 0
    if args[0] == "--version":
        print(CLIENT_VERSION)
        return 0
    if args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    try:
        if len(args) not in (3, 6):
            raise UsageError(f"unknown operation: expected 3 or 6 arguments, got {len(args)}")
        if args[2] != "StartSession":
            raise UsageError(f"invalid operation {args[2]!r} (only StartSession)")
        response = load_response(args[0])
        region = args[1]
        profile, request_json, endpoint = args[3:6] if len(args) == 6 else ("", "{}", "")
        try:
            request = json.loads(request_json or "{}")
        except ValueError as exc:
            raise UsageError(f"the StartSession request is not JSON: {exc}") from None
        if not isinstance(request, dict):
            request = {}
    except UsageError as exc:
        status(f"Cannot perform start session: {exc}\n{USAGE}\n")
        return 2
    try:
        return asyncio.run(
            run_session(
                response, region=region, profile=profile, request=request, endpoint=endpoint
            )
        )
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


class OutputRouter:
    """The client's output callback; buffers until the session's real consumer is known."""

    def __init__(self) -> None:
        self._target: Callable[[int, bytes], None] | None = None
        self._pending: list[tuple[int, bytes]] = []
        self.flag_handler: Callable[[int], None] | None = None

    def __call__(self, payload_type: int, data: bytes) -> None:
        if self._target is None:
            self._pending.append((payload_type, data))
        else:
            self._target(payload_type, data)

    def set(self, target: Callable[[int, bytes], None]) -> None:
        self._target = target
        pending, self._pending = self._pending, []
        for payload_type, data in pending:
            target(payload_type, data)

    def on_flag(self, flag: int) -> None:
        if self.flag_handler is not None:
            self.flag_handler(flag)


def make_resume(
    session_id: str, profile: str, region: str, endpoint: str
) -> Callable[[], Any] | None:
    """ResumeSession through aiobotocore (imported only when a reconnect needs it).

    Credentials are resolved afresh for every call: a socket dropped after an hour outlives the
    temporary credentials it started with (aws/session-manager-plugin#136, #117, #109), and a
    user may have run `aws sso login` meanwhile.
    """

    async def resume() -> tuple[str, str | None] | None:
        from ssm_tui.aws import clients, quiet_sdk_logs
        from ssm_tui.aws.sessions import resume_session

        quiet_sdk_logs()  # botocore's retried-failure tracebacks would land in the user's pane
        clients.forget_sessions()
        started = await resume_session(profile or None, region or None, session_id, endpoint)
        if started is None:
            return None
        return started.token_value, started.stream_url or None

    return resume


def make_data_key(profile: str, region: str) -> Callable[[str, dict[str, str]], Any]:
    """kms:GenerateDataKey with the session's own profile and region, as the official plugin."""

    async def generate(key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        from ssm_tui.aws.kms import generate_data_key

        return await generate_data_key(profile or None, region or None, key_id, context)

    return generate


def make_terminate(session_id: str, profile: str, region: str, endpoint: str) -> Callable[[], Any]:
    """TerminateSession (bounded: `aws.sessions.TERMINATE_DEADLINE`), for the `~.` escape."""

    async def terminate() -> None:
        from ssm_tui.aws.sessions import terminate_session

        await terminate_session(profile or None, region or None, session_id, endpoint or None)

    return terminate


def make_connect_options(profile: str, region: str) -> Callable[[str], Any]:
    """TLS trust, proxy and SigV4 for each dial (`wsconnect.py`), from the session's profile."""

    async def options(url: str) -> dict[str, Any]:
        from ssm_tui.plugin.wsconnect import socket_options

        return await socket_options(url, profile or None, region or None)

    return options


def connection_status(text: str) -> None:
    """Reconnection progress, on its own line of stderr (a terminal's user sees it there)."""
    status(f"\n[ssm-tui-plugin: {text}]\n")


async def run_session(
    response: dict[str, str],
    *,
    region: str,
    profile: str,
    request: dict[str, Any],
    endpoint: str,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
) -> int:
    """Run one session to its end; return the process exit status."""
    session_id = response["SessionId"]
    router = OutputRouter()
    # Run by the app: the state goes to its pane label on a pipe of its own, and nothing is
    # written over the session's screen (`plugin/status.py`).
    state_pipe = StatusWriter.from_environment()
    client = DataChannelClient(
        response["StreamUrl"],
        response["TokenValue"],
        session_id=session_id,
        resume=make_resume(session_id, profile, region, endpoint),
        on_output=router,
        on_flag=router.on_flag,
        on_message=lambda text: status(text + "\n"),
        target_id=str(request.get("Target") or ""),
        generate_data_key=make_data_key(profile, region),
        connect_options=make_connect_options(profile, region),
        on_status=connection_status if state_pipe is None else None,
        on_state=state_pipe.write if state_pipe is not None else None,
    )
    terminate = make_terminate(session_id, profile, region, endpoint)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    killed: list[int] = []

    def on_fatal_signal(signum: int) -> None:
        killed.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_fatal_signal, signum)
    status(f"\nStarting session with SessionId: {session_id}\n")
    try:
        await client.start()
        session_type = await _until(client.wait_ready(), stop)
        if session_type is None:
            return 128 + killed[0]
        if session_type == PORT_SESSION_TYPE:
            code = await _port_session(client, router, request, stop, stdin_fd, stdout_fd)
        else:
            code = await _shell_session(
                client, router, session_type, stop, stdin_fd, stdout_fd, terminate
            )
        if killed:
            return 128 + killed[0]
        return code
    except SessionError as exc:
        status(f"\nCannot perform start session: {exc}\n")
        return EXIT_FAILURE
    finally:
        await client.close()
        if state_pipe is not None:
            state_pipe.close()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)


async def _until(awaitable: Any, stop: asyncio.Event) -> Any:
    """The awaitable's result, or None if `stop` is set first (the awaitable is cancelled)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


def _closing_line(client: DataChannelClient) -> str:
    if client.closed_output:
        return f"\n\nSessionId: {client.session_id} : {client.closed_output}\n\n"
    return f"\n\nExiting session with sessionId: {client.session_id}.\n\n"


async def _shell_session(
    client: DataChannelClient,
    router: OutputRouter,
    session_type: str,
    stop: asyncio.Event,
    stdin_fd: int,
    stdout_fd: int,
    terminate: Callable[[], Any] | None = None,
) -> int:
    global _raw_active
    interactive = session_type != "NonInteractiveCommands"
    loop = asyncio.get_running_loop()

    def write(payload_type: int, data: bytes) -> None:
        write_all(2 if payload_type == PayloadType.STDERR else stdout_fd, data)

    router.set(write)
    reader = StdinReader(stdin_fd)
    stdin_tty = os.isatty(stdin_fd)
    use_raw = interactive and stdin_tty
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def send_size() -> None:
        with contextlib.suppress(SessionError):
            await client.resize(*terminal_size(stdout_fd))

    keyboard = escapes.EscapeFilter(enabled=stdin_tty)

    async def pump() -> None:
        while True:
            data = await reader.read()
            if not data:
                if interactive and not stdin_tty:
                    # piped commands: end the shell as Ctrl-D at a prompt would
                    await client.send_input(b"\x04")
                return
            filtered = keyboard.feed(data)
            if filtered.send:
                await client.send_input(filtered.send)
            for action in filtered.actions:
                if action == escapes.HELP:
                    status(escapes.HELP_TEXT)
                elif action == escapes.DISABLED:
                    status(escapes.DISABLED_TEXT)
                elif action == escapes.TERMINATE:
                    await _terminate_by_escape(client, terminate)
                    stop.set()
                    return

    forwarded = {signal.SIGINT: b"\x03", signal.SIGQUIT: b"\x1c", signal.SIGTSTP: b"\x1a"}

    def forward(byte: bytes) -> None:
        if not client.closed:
            spawn(client.send_input(byte))

    with raw_mode(stdin_fd) if use_raw else contextlib.nullcontext(False) as raw:
        _raw_active = bool(raw)
        try:
            await send_size()
            loop.add_signal_handler(signal.SIGWINCH, lambda: spawn(send_size()))
            for signum, byte in forwarded.items():
                loop.add_signal_handler(signum, forward, byte)
            pumping = asyncio.create_task(pump())
            try:
                await _until(client.wait_closed(), stop)
            finally:
                pumping.cancel()
                with contextlib.suppress(asyncio.CancelledError, SessionError, OSError):
                    await pumping
                for task in list(tasks):
                    task.cancel()
        finally:
            loop.remove_signal_handler(signal.SIGWINCH)
            for signum in forwarded:
                loop.remove_signal_handler(signum)
            _raw_active = False
    if client.closed:
        status(_closing_line(client))
    return client.exit_code if client.exit_code is not None else 0


async def _port_session(
    client: DataChannelClient,
    router: OutputRouter,
    request: dict[str, Any],
    stop: asyncio.Event,
    stdin_fd: int,
    stdout_fd: int,
) -> int:
    loop = asyncio.get_running_loop()
    properties = client.properties
    if properties.get("type") != "LocalPortForwarding":
        router.set(portforward.stream_output(stdout_fd))
        await _until(portforward.run_stream(client, stdin_fd, stdout_fd), stop)
        if client.closed:
            await client.wait_closed()  # raises SessionError when the session failed
        return 0
    mux = portforward.version_newer(client.agent_version, portforward.MUX_MIN_AGENT)

    def say(text: str) -> None:
        print(text, flush=True)

    forwarder = portforward.PortForwarder(client, mux=mux, status=say)
    router.set(forwarder.on_output)
    router.flag_handler = forwarder.on_flag
    unix_socket = _parameter(properties, request, "localUnixSocket")
    if unix_socket:
        await forwarder.listen_unix(unix_socket)
        say(f"Unix socket {unix_socket} opened for sessionId {client.session_id}.")
    else:
        actual = await forwarder.listen("127.0.0.1", _local_port(properties, request))
        say(f"Port {actual} opened for sessionId {client.session_id}.")
    say("Waiting for connections...\n")
    keepalive = None
    if mux and not portforward.version_newer(client.agent_version, portforward.NO_KEEPALIVE_AGENT):
        keepalive = asyncio.create_task(forwarder.keepalive())
    interrupted = asyncio.Event()

    def on_interrupt() -> None:  # Ctrl-C ends a port session (Flag TerminateSession)
        interrupted.set()
        stop.set()

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        await _until(client.wait_closed(), stop)
        if interrupted.is_set() and not client.closed:
            say("Terminate signal received, exiting.")
            with contextlib.suppress(SessionError, TimeoutError):
                await client.send_flag(PayloadFlag.TERMINATE_SESSION)
                await asyncio.wait_for(client.wait_closed(), 3)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if keepalive is not None:
            keepalive.cancel()
        await forwarder.close()
    if client.closed:
        status(_closing_line(client))
    return 0


async def _terminate_by_escape(
    client: DataChannelClient, terminate: Callable[[], Any] | None
) -> None:
    """`~.`: TerminateSession (as the newest plugin does), else the TerminateSession flag; then
    wait briefly for the service's channel_closed so the closing line says how it ended."""
    status("\n[ssm-tui-plugin: terminating the session (~.)]\n")
    ended = False
    if terminate is not None:
        try:
            await terminate()
            ended = True
        except Exception as exc:  # noqa: BLE001 - fall back to asking the agent on the channel
            status(f"[ssm-tui-plugin: TerminateSession failed: {exc}]\n")
    if not ended:
        with contextlib.suppress(SessionError):
            await asyncio.wait_for(client.send_flag(PayloadFlag.TERMINATE_SESSION), 2)
    with contextlib.suppress(TimeoutError, SessionError):
        await asyncio.wait_for(client.wait_closed(), 3)


def _parameter(properties: dict[str, Any], request: dict[str, Any], name: str) -> str:
    """A document parameter from the handshake properties, else from the StartSession request."""
    value = properties.get(name)
    if value in (None, ""):
        params = request.get("Parameters") or {}
        value = params.get(name) if isinstance(params, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
    return "" if value is None else str(value)


def _local_port(properties: dict[str, Any], request: dict[str, Any]) -> int:
    """localPortNumber (properties, then request), else 0: a random free port."""
    for source in (properties, {}):
        try:
            port = int(_parameter(source, request, "localPortNumber") or 0)
        except ValueError:
            continue
        if 0 < port < 65536:
            return port
    return 0


if __name__ == "__main__":
    sys.exit(main())
