"""`ssm-tui connect TARGET --command CMD`: run a shell command line, get its output and status.

Why this way (amazon-ssm-agent, `agent/session/shell/shell_unix.go` `StartCommandExecutor` and
`shell.go` `Execute`): the agent runs `AWS-StartNonInteractiveCommand` as `shlex.Split` + exec,
with no shell (`a && b`, pipes and `$VAR` do not work) and, as AWS publishes the document, sends
**no exit status** (only documents setting the `separateOutputStream` property do, and creating
one needs ssm:CreateDocument, which an operator rarely has). `AWS-StartInteractiveCommand` runs
its command as `sh -c COMMAND` in a pty: a real shell, and only StartSession on an AWS document.
It reports no status either, and a pty merges stderr into stdout and turns LF into CR LF. So the
command we send is a small POSIX `sh` wrapper that:

1. puts the pty in raw mode without echo (`stty raw -echo`): bytes then pass unchanged, LF stays
   LF, and nothing we type is echoed back;
2. prints a ready line, then reads one line from us: a fresh random nonce. It never appears in
   the command line, the environment or the output, so the command cannot forge the trailer;
3. runs the user's command line with `sh -c` (any pipes, `&&`, `$VAR`, quotes), stdin from
   /dev/null, stdout through a pipe (as with ssh without a tty) and stderr into a private temp
   file;
4. prints `<nonce> <status> <stderr bytes>\\n` right after the last byte of stdout, then the
   stderr bytes, and removes the file.

Everything between the ready line and the trailer is the command's stdout, streamed as it comes;
stderr arrives after it (not interleaved: the one channel a pty gives cannot carry two streams
live without an encoder on the instance, and a length-framed block after a secret marker is
exact). The status is ours once the trailer and its stderr bytes are in; a connection drop after
that does not change it. No trailer, no status: exit 255 with a message, never 0.
Linux/macOS instances only (the wrapper is `sh`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INTERACTIVE_DOCUMENT = "AWS-StartInteractiveCommand"
READY = b"ssm-tui:ready\n"
EXIT_NO_STATUS = 255
READY_TIMEOUT = 60.0
"""How long the wrapper may take to say it is ready (the agent itself waits ~1 s)."""


def wrapper(command: str) -> str:
    """The `sh` script sent as the document's command (see the module docstring)."""
    return (
        "stty raw -echo 2>/dev/null || "
        "{ echo 'ssm-tui: cannot set the terminal mode (stty) on the instance'; exit 125; }; "
        "printf 'ssm-tui:ready\\n'; IFS= read -r k; umask 077; "
        'f=$(mktemp 2>/dev/null) || f="${TMPDIR:-/tmp}/.ssm-tui-$$"; exec 4>&1; '
        "r=$( { { sh -c "
        + shlex.quote(command)
        + ' </dev/null 2>"$f" 3>&- 4>&-; echo $? >&3; } | cat >&4; } 3>&1 ); '
        'n=$(wc -c <"$f"); printf \'%s %s %s\\n\' "$k" "$r" $n; cat "$f"; rm -f "$f"'
    )


def new_nonce() -> bytes:
    return secrets.token_hex(16).encode()


Writer = Callable[[bytes], None]


class FramedOutput:
    """Decodes the wrapper's byte stream: ready line, stdout, trailer, stderr block.

    `feed` takes the bytes in order (chunks may split anything anywhere). Stdout is passed on
    as it comes, except a tail that could be the start of the trailer marker (hex digits that
    match the nonce so far): a line of output ending in a newline is never held back.
    """

    def __init__(self, nonce: bytes, stdout: Writer, stderr: Writer) -> None:
        self._marker = nonce + b" "
        self._stdout = stdout
        self._stderr = stderr
        self._buffer = bytearray()
        self.state = "waiting"
        """waiting (for the ready line) → stdout → trailer → stderr → done."""
        self.before_ready = bytearray()
        """What the instance printed before the ready line (an error, when it never comes)."""
        self.status: int | None = None
        self._stderr_left = 0
        self.ready = asyncio.Event()
        self.done = asyncio.Event()

    def feed(self, data: bytes) -> None:
        if self.state == "done" or not data:
            return
        self._buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        """Advance one state as far as the buffer allows; True if it should be called again."""
        buffer = self._buffer
        if self.state == "waiting":
            at = buffer.find(READY)
            if at < 0:
                keep = len(READY) - 1
                if len(buffer) > keep:
                    self.before_ready += buffer[:-keep]
                    del buffer[:-keep]
                return False
            self.before_ready += buffer[:at]
            del buffer[: at + len(READY)]
            self.state = "stdout"
            self.ready.set()
            return True
        if self.state == "stdout":
            at = buffer.find(self._marker)
            if at < 0:
                safe = len(buffer) - _partial_match(buffer, self._marker)
                if safe > 0:
                    self._stdout(bytes(buffer[:safe]))
                    del buffer[:safe]
                return False
            if at:
                self._stdout(bytes(buffer[:at]))
            del buffer[: at + len(self._marker)]
            self.state = "trailer"
            return True
        if self.state == "trailer":
            end = buffer.find(b"\n")
            if end < 0:
                return False
            fields = bytes(buffer[:end]).split()
            del buffer[: end + 1]
            try:
                self.status, self._stderr_left = int(fields[0]), int(fields[1])
            except (IndexError, ValueError):
                self.status, self._stderr_left = None, 0
                self.state = "done"
                self.done.set()
                return False
            self.state = "stderr"
            return True
        if self.state == "stderr":
            take = min(self._stderr_left, len(buffer))
            if take:
                self._stderr(bytes(buffer[:take]))
                del buffer[:take]
                self._stderr_left -= take
            if self._stderr_left == 0:
                buffer.clear()
                self.state = "done"
                self.done.set()
            return False
        return False

    @property
    def complete(self) -> bool:
        """The status and all of stderr are in."""
        return self.state == "done" and self.status is not None

    @property
    def status_known(self) -> bool:
        return self.status is not None


def _partial_match(buffer: bytearray, marker: bytes) -> int:
    """Length of the longest end of `buffer` that is a proper start of `marker`."""
    for size in range(min(len(buffer), len(marker) - 1), 0, -1):
        if buffer.endswith(marker[:size]):
            return size
    return 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a `--command` run ended: the remote status, or why there is none."""

    status: int | None
    message: str = ""
    signal: int | None = None
    """The signal (Ctrl-C, SIGTERM, SIGHUP) that ended the wait, if one did."""


def _write(stream: Any) -> Writer:
    def write(data: bytes) -> None:
        stream.write(data)
        stream.flush()

    return write


async def run(
    started: Any,
    *,
    stdout: Writer | None = None,
    stderr: Writer | None = None,
    nonce: bytes | None = None,
    upload: Callable[[Any], Any] | None = None,
) -> Outcome:
    """Run the wrapper's session to its trailer; the remote status, or why there is none.

    `upload(client)`, when given, is awaited right after the nonce line: it sends the bytes the
    command reads from the pty (`cp` over the shell channel: `head -c N </dev/tty`)."""
    from ssm_tui.plugin.client import DataChannelClient, SessionError
    from ssm_tui.plugin.main import make_resume

    nonce = nonce or new_nonce()
    framed = FramedOutput(
        nonce, stdout or _write(sys.stdout.buffer), stderr or _write(sys.stderr.buffer)
    )
    client = DataChannelClient(
        started.stream_url,
        started.token_value,
        session_id=started.session_id,
        resume=make_resume(
            started.session_id, started.profile, started.region, started.endpoint_url
        ),
        on_output=lambda _kind, data: framed.feed(data),
    )
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    caught: list[int] = []

    def on_signal(signum: int) -> None:
        caught.append(signum)
        interrupted.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
    closed: asyncio.Task[Any] | None = None
    try:
        await client.start()
        closed = asyncio.ensure_future(client.wait_closed())
        if not await _first(framed.ready, closed, interrupted, timeout=READY_TIMEOUT):
            if caught:
                return Outcome(None, "interrupted", caught[0])
            return _no_status(framed, closed, interrupted, "before the command started")
        await client.send_input(nonce + b"\n")
        if upload is not None:
            await upload(client)
        await _first(framed.done, closed, interrupted)
        if caught and not framed.complete:
            return Outcome(None, "interrupted; terminating the session", caught[0])
        if framed.complete:
            return Outcome(framed.status)
        if framed.status_known:  # the status came, part of stderr was lost with the link
            return Outcome(framed.status, "the connection ended before all of stderr arrived")
        return _no_status(framed, closed, interrupted, "")
    except SessionError as exc:
        if framed.status_known:
            return Outcome(framed.status)  # a received status stands
        return Outcome(None, f"the session failed: {exc}")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        if closed is not None and not closed.done():
            closed.cancel()
        if closed is not None:
            with contextlib.suppress(BaseException):
                await closed
        await client.close()


async def _first(
    event: asyncio.Event,
    closed: asyncio.Task[Any],
    interrupted: asyncio.Event,
    timeout: float | None = None,
) -> bool:
    """Wait for `event`, the session's end or an interrupt; True if `event` is set."""
    waiters = {
        asyncio.ensure_future(event.wait()),
        asyncio.ensure_future(interrupted.wait()),
    }
    try:
        await asyncio.wait({*waiters, closed}, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        for waiter in waiters:
            waiter.cancel()
    return event.is_set()


def _no_status(
    framed: FramedOutput, closed: asyncio.Task[Any], interrupted: asyncio.Event, when: str
) -> Outcome:
    reason = ""
    if closed.done() and not closed.cancelled():
        error = closed.exception()
        reason = f": {error}" if error is not None else ""
    elif not closed.done():
        reason = ": the instance did not answer in time"
    said = bytes(framed.before_ready).decode("utf-8", "replace").strip()
    detail = f" (the instance said: {said[-300:]})" if said and when else ""
    where = f" {when}" if when else ""
    return Outcome(
        None,
        f"the session ended{where} without reporting the command's exit status{reason}{detail}",
    )
