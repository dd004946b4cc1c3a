"""The sandbox's stand-in for an instance: a real shell in a real pseudo-terminal.

The SSM agent runs the session's shell (or the document's command) in a pty with
`TERM=xterm-256color`, sends what it prints in chunks of at most 1024 bytes that never split a UTF-8
sequence, and sets the pty's window size from the client's Size messages. This module does the
same for the sandbox, on the asyncio loop: reads and writes are non-blocking (a paste of megabytes
must never stall the loop), reading can be paused while the client is behind (backpressure), and
the child's exit is noticed through a pidfd rather than by waiting for the pty to reach EOF (a
background job still holding the pty must not keep a finished session open).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ptyprocess

from ssm_tui.sandbox.sessions import InstanceView

CHUNK_LIMIT = 1024
"""Largest output payload the agent sends (bytes)."""

READ_SIZE = 256 * 1024
"""Bytes read from the pty per wake-up: big reads keep the per-message overhead low."""

READS_PER_WAKEUP = 8
"""Reads per readable event before going back to the loop (keeps other sessions served)."""

DEFAULT_SIZE = (24, 80)
"""Rows, columns of a `PtyShell` made without a size."""

AGENT_START_SIZE = (0, 0)
"""The pty of a session until the client's first Size message: the agent's `pty.Start` sets
none, so it is the kernel's 0x0 (`shell_unix.go`)."""

SHELL = "/bin/sh"
"""The agent runs `sh` (Standard_Stream) and `sh -c` (InteractiveCommands)."""

AGENT_START_DELAY = 1.0
"""The agent sleeps this long before it first reads a pty session's output (`writePump` with
`initialWaitSecond` 1 in `shell.go`): early output arrives late, input typed meanwhile is
already with the shell. `ssm-tui sandbox --agent-start-delay` changes it."""

AGENT_ERROR_DELAY = 1.0
"""`sendErrorToDataChannel` sleeps 1 s before it sends a start error."""

_UNSAFE_PROMPT_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def split_utf8(data: bytes, limit: int = CHUNK_LIMIT) -> tuple[list[bytes], bytes]:
    """Cut `data` into chunks of at most `limit` bytes that never end inside a UTF-8 sequence.

    Returns the chunks and the incomplete multi-byte sequence at the very end (if any), which the
    caller prepends to the next read. Bytes that are not valid UTF-8 pass through unchanged.
    """
    end = len(data)
    tail = _incomplete_tail(data)
    end -= tail
    chunks: list[bytes] = []
    start = 0
    while start < end:
        cut = min(start + limit, end)
        if cut < end:
            back = cut
            # Step back over continuation bytes (10xxxxxx) to the lead byte, at most 3 steps.
            while back > start and cut - back < 3 and (data[back] & 0xC0) == 0x80:
                back -= 1
            if back > start and (data[back] & 0xC0) != 0x80:
                cut = back
        chunks.append(data[start:cut])
        start = cut
    return chunks, data[end:]


def _incomplete_tail(data: bytes) -> int:
    """Length of a truncated UTF-8 sequence at the end of `data` (0 if none)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if (byte & 0xC0) == 0x80:
            continue
        if byte >= 0xF0:
            need = 4
        elif byte >= 0xE0:
            need = 3
        elif byte >= 0xC0:
            need = 2
        else:
            return 0
        return back if back < need else 0
    return 0


def working_directory(instance: InstanceView) -> Path:
    """The instance's own folder: its `home` if the sandbox gave one, else one in the temp dir."""
    if instance.home:
        path = Path(instance.home)
    else:
        safe = _UNSAFE_PROMPT_CHARS.sub("_", instance.instance_id) or "instance"
        path = Path(tempfile.gettempdir()) / "ssm-tui-sandbox-homes" / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


def prompt_for(instance: InstanceView, user: str = "ssm-user") -> str:
    """A PS1 naming the instance, so two sessions are told apart at a glance.

    `sh` expands parameters in PS1 (POSIX; bash also `$(...)` and backslash escapes), so only
    plain host-name characters of the computer name are used: tag text from the seeded world never
    reaches the shell as code. `$PWD` is the one expansion meant.
    """
    host = _UNSAFE_PROMPT_CHARS.sub("", instance.computer_name.split(".")[0]) or "localhost"
    if instance.platform_type.lower() == "windows":
        return f"PS C:\\Users\\ssm-user@{host}> "  # the agent's Windows shells: ssm-user
    user = _UNSAFE_PROMPT_CHARS.sub("", user) or "ssm-user"
    return f"{user}@{host}:$PWD$ "


def shell_environment(instance: InstanceView, home: Path, user: str = "ssm-user") -> dict[str, str]:
    """A small, clean environment: nothing of the sandbox's own (credentials!) leaks into it.

    `user`: the session's Run As user (`sandbox/run_as.py`), as the agent's shell would be."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "HOME": str(home),
        "USER": user,
        "LOGNAME": user,
        "SHELL": SHELL,
        "LANG": "C.UTF-8",
        "HISTFILE": "/dev/null",
        "PS1": prompt_for(instance, user),
        "AWS_SSM_INSTANCE_ID": instance.instance_id,
    }


def shell_argv(command: str | None) -> list[str]:
    """The agent's shell (`sh`), or `sh -c COMMAND` as it runs an InteractiveCommands document."""
    if command is None:
        return [SHELL]
    return [SHELL, "-c", command]


def session_process_groups(sid: int) -> set[int]:
    """Process groups of every process in session `sid` (from /proc; empty where there is none)."""
    groups: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return groups
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Fields after "(comm)": state ppid pgrp session ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 4 and int(fields[3]) == sid:
            groups.add(int(fields[2]))
    return groups


@dataclass(slots=True)
class ExitStatus:
    """How the child ended: an exit code, or the signal that killed it."""

    code: int | None
    signal: int | None

    @property
    def as_code(self) -> int:
        """Shell convention: 128 + signal number when killed by a signal."""
        if self.code is not None:
            return self.code
        return 128 + (self.signal or 0)


_RESET_SIGNALS = tuple(
    getattr(signal, name)
    for name in (
        "SIGINT",
        "SIGQUIT",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGHUP",
        "SIGTERM",
        "SIGPIPE",
        "SIGXFSZ",
        "SIGCHLD",
        "SIGWINCH",
    )
    if hasattr(signal, name)
)


def _default_signals() -> None:
    """In the child, before exec: every signal back to its default disposition, none blocked.

    Ignored signals survive exec. Python ignores SIGPIPE, and a sandbox started in the background
    by a non-interactive shell ignores SIGINT: the session's shell would inherit both (Ctrl-C
    would do nothing, `yes | head` would spin on EPIPE). A real login has neither.
    """
    for signum in _RESET_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


OutputHandler = Callable[[bytes], None]
ExitHandler = Callable[[ExitStatus], None]


class PtyShell:
    """A child process in a pty, driven from the asyncio loop.

    `on_output` receives chunks of at most 1024 bytes (UTF-8 safe); `on_exit` is called once, after
    the last output, when the child has exited (or the pty hung up).
    """

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        on_output: OutputHandler,
        on_exit: ExitHandler,
        size: tuple[int, int] = DEFAULT_SIZE,
        read_delay: float = 0.0,
    ) -> None:
        self._argv = argv
        self._read_delay = read_delay
        self._delayed = False
        self._exit_pending = False
        self._cwd = cwd
        self._env = env
        self._on_output = on_output
        self._on_exit = on_exit
        self._size = size
        self._process: ptyprocess.PtyProcess | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pidfd: int | None = None
        self._pending_write = bytearray()
        self._drained_waiters: list[asyncio.Future[None]] = []
        self._carry = b""
        self._reading = False
        self._paused = False
        self._finished = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def finished(self) -> bool:
        return self._finished

    def start(self) -> None:
        """Spawn the child and start watching its output and its exit."""
        self._loop = asyncio.get_running_loop()
        self._process = ptyprocess.PtyProcess.spawn(
            self._argv,
            cwd=str(self._cwd),
            env=self._env,
            dimensions=self._size,
            preexec_fn=_default_signals,
        )
        os.set_blocking(self._process.fd, False)
        if self._read_delay > 0:
            # The agent's writePump sleeps before its first read; the child runs meanwhile.
            self._delayed = True
            self._loop.call_later(self._read_delay, self._delay_over)
        self._resume_reader()
        try:
            self._pidfd = os.pidfd_open(self._process.pid)
        except OSError:  # pragma: no cover - kernels before 5.3: rely on the pty's EOF alone
            self._pidfd = None
        if self._pidfd is not None:
            self._loop.add_reader(self._pidfd, self._child_gone)

    def write(self, data: bytes) -> None:
        """Queue keystrokes for the pty without ever blocking the loop."""
        if self._finished or self._process is None or not data:
            return
        fd = self._process.fd
        if not self._pending_write:
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                written = 0
            except OSError:
                return
            data = data[written:]
            if not data:
                return
            self._pending_write += data
            assert self._loop is not None
            self._loop.add_writer(fd, self._flush_writes)
        else:
            self._pending_write += data

    def _flush_writes(self) -> None:
        assert self._process is not None and self._loop is not None
        fd = self._process.fd
        try:
            written = os.write(fd, self._pending_write)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending_write)
        del self._pending_write[:written]
        if not self._pending_write:
            self._loop.remove_writer(fd)
            self._wake_drained()

    @property
    def unwritten(self) -> int:
        """Bytes written to us that the pty has not taken yet (its child is not reading)."""
        return 0 if self._finished else len(self._pending_write)

    def drained(self) -> asyncio.Future[None] | None:
        """None when the pty has taken every byte written; else a future set once it has.

        The agent writes input to the pty with a blocking write and acks the message only
        after it returns (`shell_unix.go` InputStreamMessageHandler, `datachannel.go`
        handleStreamDataMessage): the runtime waits on this before acking.
        """
        if not self._pending_write or self._finished:
            return None
        assert self._loop is not None
        waiter = self._loop.create_future()
        self._drained_waiters.append(waiter)
        return waiter

    def _wake_drained(self) -> None:
        waiters, self._drained_waiters = self._drained_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def resize(self, rows: int, cols: int) -> None:
        """Set the pty's window size (as uint16, 0 allowed, as the agent's `pty.Setsize`); the
        kernel sends SIGWINCH to the foreground job."""
        rows &= 0xFFFF
        cols &= 0xFFFF
        self._size = (rows, cols)
        if self._process is not None and not self._finished:
            with contextlib.suppress(OSError):
                self._process.setwinsize(rows, cols)

    def pause_reading(self) -> None:
        """Stop reading output (the client is behind): the child blocks once the pty fills."""
        self._paused = True
        if self._reading and self._process is not None and self._loop is not None:
            self._loop.remove_reader(self._process.fd)
            self._reading = False

    def resume_reading(self) -> None:
        self._paused = False
        self._resume_reader()

    def _delay_over(self) -> None:
        self._delayed = False
        if self._finished:
            return
        self._resume_reader()
        if self._exit_pending:
            self._child_gone()

    def _resume_reader(self) -> None:
        if self._reading or self._finished or self._paused or self._delayed:
            return
        assert self._process is not None and self._loop is not None
        self._loop.add_reader(self._process.fd, self._readable)
        self._reading = True

    def _readable(self) -> None:
        if not self._read_once():
            self._hang_up()

    def _read_once(self) -> bool:
        """Read what the pty has; False once it reports EOF/EIO (every writer gone).

        A pty hands out at most about 4 KB per read, so a few reads are batched per wake-up:
        fewer trips through the event loop for the same bytes.
        """
        assert self._process is not None
        fd = self._process.fd
        pieces: list[bytes] = []
        alive = True
        for _ in range(READS_PER_WAKEUP):
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                alive = False
                break
            pieces.append(data)
        if pieces:
            chunks, self._carry = split_utf8(self._carry + b"".join(pieces))
            for chunk in chunks:
                self._on_output(chunk)
        return alive

    def _child_gone(self) -> None:
        """The child exited: drain what it left in the pty, then report."""
        assert self._loop is not None
        if self._pidfd is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._pidfd)
        if self._delayed:
            self._exit_pending = True  # its output is read (and sent) once the delay is over
            return
        if self._paused:
            # Output still waits for the client; finish when reading resumes and drains.
            self._paused = False
            self._resume_reader()
        self._drain_and_finish()

    def _hang_up(self) -> None:
        """Every writer of the pty is gone; the child's exit (pidfd) finishes the session."""
        assert self._process is not None and self._loop is not None
        if self._reading:
            self._loop.remove_reader(self._process.fd)
            self._reading = False
        if self._pidfd is None:  # pragma: no cover - no pidfd: the hang-up is all we get
            self._drain_and_finish()

    def _drain_and_finish(self) -> None:
        if self._finished:
            return
        assert self._process is not None
        # Whatever is still buffered in the pty belongs to the transcript.
        for _ in range(1024):
            try:
                data = os.read(self._process.fd, READ_SIZE)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            chunks, self._carry = split_utf8(self._carry + data)
            for chunk in chunks:
                self._on_output(chunk)
        if self._carry:
            self._on_output(self._carry)
            self._carry = b""
        status = self._reap()
        self._finished = True
        self._release()
        self._on_exit(status)

    def _reap(self) -> ExitStatus:
        """Collect the exited child's status (it has exited: this does not block)."""
        assert self._process is not None
        process = self._process
        try:
            _, raw = os.waitpid(process.pid, 0)
        except ChildProcessError:
            return ExitStatus(process.exitstatus, process.signalstatus)
        if os.WIFSIGNALED(raw):
            return ExitStatus(None, os.WTERMSIG(raw))
        return ExitStatus(os.waitstatus_to_exitcode(raw), None)

    def _signal_group(self, signum: int) -> None:
        """Signal every process group of the child's session (its background jobs too).

        An interactive bash puts each job in its own process group, so signalling the shell's group
        alone would leave `sleep 100 &` running after the session ended.
        """
        if self._process is None:
            return
        for pgid in session_process_groups(self._process.pid) | {self._process.pid}:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signum)

    def _release(self) -> None:
        assert self._process is not None and self._loop is not None
        fd = self._process.fd
        if self._reading:
            self._loop.remove_reader(fd)
            self._reading = False
        if self._pending_write:
            self._loop.remove_writer(fd)
            self._pending_write.clear()
        self._wake_drained()  # the child is gone: nothing will take the rest
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                self._loop.remove_reader(self._pidfd)
                os.close(self._pidfd)
            self._pidfd = None
        # Background jobs of the finished shell get the hang-up a real logout would give them.
        self._signal_group(signal.SIGHUP)
        self._forget_process()

    def _forget_process(self) -> None:
        """Close the pty and tell ptyprocess it is done (its own close() sleeps 0.1 s)."""
        assert self._process is not None
        self._process.terminated = True
        self._process.delayafterclose = 0
        with contextlib.suppress(OSError):
            self._process.fileobj.close()
        self._process.closed = True

    def kill(self, *, wait: bool = False) -> None:
        """End the child and its process group now (TerminateSession, sandbox exit).

        On the loop, the pidfd then reports the exit as usual. `wait=True` (sandbox shutdown, the
        loop may be gone) reaps the child right here so nothing is left behind.
        """
        if self._process is None or self._finished:
            return
        if self._delayed and self._loop is not None:
            self._loop.call_soon(self._delay_over)  # ending now: no reason to wait for the read
        self._signal_group(signal.SIGHUP)
        self._signal_group(signal.SIGKILL)
        if wait:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._process.pid, 0)
            self._finished = True
            self._wake_drained()
            if self._pidfd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._pidfd)
                self._pidfd = None
            self._forget_process()


class PipeCommand:
    """A NonInteractiveCommands command as the agent runs it: exec'd, no pty, no stdin.

    `separate=False` (the AWS documents): stdout and stderr share one file, which is sent as
    Output after the command has exited (`processCommandsWithExec`). `separate=True`
    (`separateOutputStream` set by the document): stdout as Output, stderr as StdErr, streamed,
    each piece that starts a line led by the document's prefix. Same interface as `PtyShell`;
    input is dropped (the agent gives the command no stdin) and resizing means nothing.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        on_output: OutputHandler,
        on_stderr: OutputHandler,
        on_exit: ExitHandler,
        separate: bool = False,
        stdout_prefix: str = "",
        stderr_prefix: str = "",
    ) -> None:
        from ssm_tui.sandbox.commands import Prefixer

        self._argv = argv
        self._cwd = cwd
        self._env = env
        self._separate = separate
        self._handlers = (on_output, on_stderr)
        self._prefixers = (Prefixer(stdout_prefix), Prefixer(stderr_prefix))
        self._on_exit = on_exit
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._readable = asyncio.Event()
        self._readable.set()
        self._finished = False
        self.start_error: str | None = None
        """Why the command could not start (Go's exec error text), once known."""

    @property
    def finished(self) -> bool:
        return self._finished

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        output = None if self._separate else tempfile.TemporaryFile()
        try:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self._argv,
                    cwd=str(self._cwd),
                    env=self._env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE if output is None else output,
                    stderr=asyncio.subprocess.PIPE if output is None else output,
                    start_new_session=True,
                    preexec_fn=_default_signals,
                )
            except OSError as exc:
                self.start_error = _exec_error(self._argv[0], exc)
                await asyncio.sleep(AGENT_ERROR_DELAY)  # sendErrorToDataChannel sleeps 1 s
                self._handlers[1](self.start_error.encode())
                self._finish(ExitStatus(1, None))
                return
            process = self._process
            if output is None:
                assert process.stdout is not None and process.stderr is not None
                await asyncio.gather(
                    self._pump(process.stdout, 0),
                    self._pump(process.stderr, 1),
                )
                raw = await process.wait()
            else:
                raw = await process.wait()
                await self._send_file(output)
            # Go's ExitError.ExitCode() is -1 for a process killed by a signal.
            self._finish(ExitStatus(-1 if raw < 0 else raw, None))
        finally:
            if output is not None:
                output.close()

    async def _pump(self, stream: asyncio.StreamReader, which: int) -> None:
        handler, prefixer = self._handlers[which], self._prefixers[which]
        carry = b""
        while True:
            await self._readable.wait()
            data = await stream.read(READ_SIZE)
            if not data:
                break
            chunks, carry = split_utf8(carry + data, CHUNK_LIMIT - 32)
            for chunk in chunks:
                handler(prefixer(chunk))
        if carry:
            handler(prefixer(carry))

    async def _send_file(self, output: Any) -> None:
        """The command's output file, read after it exited, as the agent's writePump does."""
        output.seek(0)
        carry = b""
        while True:
            await self._readable.wait()
            data = output.read(READ_SIZE)
            if not data:
                break
            chunks, carry = split_utf8(carry + data)
            for chunk in chunks:
                self._handlers[0](chunk)
            await asyncio.sleep(0)  # let acks in between big reads
        if carry:
            self._handlers[0](carry)

    def _finish(self, status: ExitStatus) -> None:
        if not self._finished:
            self._finished = True
            self._on_exit(status)

    def write(self, data: bytes) -> None:
        """The agent gives the command no stdin: what the client types is dropped."""

    def resize(self, rows: int, cols: int) -> None:
        """No terminal, no size."""

    def pause_reading(self) -> None:
        self._readable.clear()

    def resume_reading(self) -> None:
        self._readable.set()

    def kill(self, *, wait: bool = False) -> None:
        """End the command and everything it started (its own session)."""
        process = self._process
        if process is None or self._finished:
            if self._task is not None and not self._task.done() and process is None:
                self._task.cancel()
            return
        for pgid in session_process_groups(process.pid) | {process.pid}:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        self._readable.set()
        if wait:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process.pid, 0)
            self._finished = True


def _exec_error(program: str, exc: OSError) -> str:
    """The error text Go's `exec.Command(...).Start()` gives, which the agent sends as is."""
    if "/" not in program and isinstance(exc, FileNotFoundError):
        return f'exec: "{program}": executable file not found in $PATH'
    reason = (exc.strerror or str(exc)).lower()
    return f"fork/exec {program}: {reason}"
