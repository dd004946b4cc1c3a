"""A child process in a real pty, driven from the asyncio loop.

Why not ``ptyprocess``: it forks with ``pty.fork()`` and reads with blocking calls, and it sets the
window size only after the fork. Here the pty pair is made first, its size set on the slave side
*before* the child exists (a session plugin reads it once at start: no 80x24 first frame), and the
child is started by asyncio (so ``wait()`` is awaitable) as the leader of a new session whose
controlling terminal is the pty (so Ctrl-C in the byte stream becomes SIGINT for the foreground
job, as in a real terminal). Output is read on the loop with ``add_reader`` in batches.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import fcntl
import os
import select
import shutil
import signal
import struct
import sys
import termios
import weakref
from collections.abc import Callable, Mapping, Sequence

READ_SIZE = 65536
MAX_BATCH = 256 * 1024
"""Most bytes read in one loop callback: big enough to cut per-call overhead during a flood,
small enough that the loop gets back to keys and timers within a few milliseconds."""

_live: weakref.WeakSet[PtyProcess] = weakref.WeakSet()


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """Set a pty's window size (the kernel sends SIGWINCH to its foreground process group)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_winsize(fd: int) -> tuple[int, int]:
    """``(cols, rows)`` of a pty."""
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return cols, rows


EXEC_WRAPPER = """\
import fcntl, os, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
for sig in signal.valid_signals():
    try:
        signal.signal(sig, signal.SIG_DFL)
    except (OSError, ValueError):
        pass
signal.pthread_sigmask(signal.SIG_SETMASK, [])
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as exc:
    os.write(2, f"{sys.argv[1]}: {exc.strerror}\\r\\n".encode())
    os._exit(127)
"""
"""Runs in the child, between our fork (`start_new_session`) and the real program's exec.

Takes the pty as controlling terminal (so Ctrl-C in the byte stream becomes SIGINT for the
foreground job) and gives the program a terminal's usual signal state: every disposition at its
default and an empty mask. Ignored signals survive exec: an ssm-tui started from a background
job or `nohup` ignores SIGINT/SIGHUP, and without this reset the shell in every pane would too
(terminal emulators reset them the same way). A wrapper process rather than `preexec_fn`, which
CPython documents as unsafe in a process with threads (ours has the AWS loop's and Textual's).
"""


def _wrapped(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The command line that runs `argv` through `EXEC_WRAPPER` (same pid: it execs).

    A program that cannot be found raises `FileNotFoundError` here, as `subprocess` would.
    """
    program = argv[0]
    if os.sep in program:
        found: str | None = program if os.access(program, os.X_OK) else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    return [sys.executable, "-I", "-S", "-c", EXEC_WRAPPER, *argv]


class PtyProcess:
    """One child process attached to a new pty.

    Create it, set ``on_data``/``on_exit`` callbacks, then ``await start()``. ``on_data(bytes)``
    is called on the loop with batches of output; ``on_exit(status)`` once, after the process
    ended and its last output was delivered."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cols: int = 80,
        rows: int = 24,
        *,
        cwd: str | None = None,
        term: str = "xterm-256color",
        pass_fds: Sequence[int] = (),
        on_data: Callable[[bytes], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cols, self.rows = max(cols, 1), max(rows, 1)
        self.cwd = cwd
        self.term = term
        self.pass_fds = tuple(pass_fds)
        """Descriptors the child inherits; handed over: closed here once it started (or failed
        to), so the parent keeps no copy (a pipe's reader then sees EOF after the child's)."""
        self.on_data = on_data
        self.on_exit = on_exit
        self.pid: int | None = None
        self.exit_status: int | None = None
        """The exit code, or ``-N`` when killed by signal N; ``None`` while running."""
        self._fd: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._paused = False
        self._pending_input = bytearray()
        self._hung_up = False

    @property
    def running(self) -> bool:
        return self.pid is not None and self.exit_status is None

    @property
    def fd(self) -> int | None:
        """The master side of the pty (``None`` before start and after the end)."""
        return self._fd

    async def start(self) -> None:
        """Spawn the child at the size given, and begin delivering its output."""
        if self._proc is not None:
            raise RuntimeError("process already started")
        self._loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        try:
            set_winsize(slave, self.cols, self.rows)
            env = {**os.environ, "TERM": self.term, "COLORTERM": "truecolor", **self.env}
            env.pop("COLUMNS", None)
            env.pop("LINES", None)
            self._proc = await asyncio.create_subprocess_exec(
                *_wrapped(self.argv, env),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=self.pass_fds,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # only the child holds it now: its exit gives us EOF
            self._close_passed()
        self.pid = self._proc.pid
        os.set_blocking(master, False)
        self._fd = master
        self._loop.add_reader(master, self._read_ready)
        _live.add(self)
        self._watch = asyncio.create_task(self._watch_exit())

    def _close_passed(self) -> None:
        fds, self.pass_fds = self.pass_fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _drain(self) -> bool:
        """Read what is there (up to MAX_BATCH) and deliver it; False at EOF."""
        fd = self._fd
        if fd is None:
            return False
        chunks: list[bytes] = []
        size = 0
        eof = False
        while size < MAX_BATCH:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:  # EIO: the slave side is closed
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                eof = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
            size += len(data)
        if chunks and self.on_data is not None:
            self.on_data(b"".join(chunks))
        return not eof

    def _read_ready(self) -> None:
        if not self._drain():
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)

    def pause_reading(self) -> None:
        """Stop reading output (back-pressure: the child blocks once the pty buffer is full)."""
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        """Read output again after :meth:`pause_reading`."""
        if self._paused and self._fd is not None and self._loop is not None:
            self._paused = False
            self._loop.add_reader(self._fd, self._read_ready)

    async def _watch_exit(self) -> None:
        assert self._proc is not None
        status = await self._proc.wait()
        # Deliver what the process wrote before it ended, then release the pty.
        with contextlib.suppress(OSError):
            while self._drain():
                if not self._readable_now():
                    break
        self._stop_reading()
        self._close_fd()
        self.exit_status = status
        self._done.set()
        _live.discard(self)
        if self.on_exit is not None:
            self.on_exit(status)

    def _readable_now(self) -> bool:
        if self._fd is None:
            return False
        ready, _, _ = select.select([self._fd], [], [], 0)
        return bool(ready)

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if self._pending_input and self._loop is not None:
                self._loop.remove_writer(fd)
                self._pending_input.clear()
            with contextlib.suppress(OSError):
                os.close(fd)

    def write(self, data: bytes) -> None:
        """Send bytes to the child's terminal input (keys, paste). Never blocks: what the pty
        cannot take now (a big paste into a busy program) is queued and written when the child
        reads, so the UI stays responsive."""
        fd = self._fd
        if fd is None or not data:
            return
        if self._pending_input:
            self._pending_input += data
            return
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            n = 0
        except OSError:
            return  # the child is gone; the exit watcher reports it
        if n < len(data):
            self._pending_input += data[n:]
            if self._loop is not None:
                self._loop.add_writer(fd, self._write_ready)

    @property
    def pending_input(self) -> int:
        """Bytes written but not yet taken by the pty."""
        return len(self._pending_input)

    def _write_ready(self) -> None:
        fd = self._fd
        if fd is None:
            self._pending_input.clear()
            return
        try:
            n = os.write(fd, self._pending_input)
        except BlockingIOError:
            return
        except OSError:
            n = len(self._pending_input)
        del self._pending_input[:n]
        if not self._pending_input and self._loop is not None:
            self._loop.remove_writer(fd)

    def resize(self, cols: int, rows: int) -> None:
        """New window size for the child (SIGWINCH reaches its foreground job)."""
        cols, rows = max(cols, 1), max(rows, 1)
        self.cols, self.rows = cols, rows
        if self._fd is not None:
            with contextlib.suppress(OSError):
                set_winsize(self._fd, cols, rows)

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (it leads its own session)."""
        if self.pid is None or self.exit_status is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def wait(self) -> int:
        """Wait for the process to end; its exit status."""
        await self._done.wait()
        assert self.exit_status is not None
        return self.exit_status

    def hangup(self) -> None:
        """Start ending the child, synchronously (safe during shutdown): SIGHUP (what closing a
        terminal sends), SIGCONT (a stopped job must run to die) and SIGTERM to its group, and
        close the pty, so a shell that deferred the signals reads EOF/EIO and leaves."""
        if self._proc is None or self.exit_status is not None:
            return
        self._hung_up = True
        self.signal_group(signal.SIGHUP)
        self.signal_group(signal.SIGCONT)
        self.signal_group(signal.SIGTERM)
        self._stop_reading()
        self._close_fd()

    async def terminate(self, grace: float = 2.0) -> int | None:
        """End the child (:meth:`hangup`), then SIGKILL its group if it is still there after
        ``grace`` seconds; reap it. Returns the exit status."""
        if self._proc is None:
            return None
        if self.exit_status is None:
            self.hangup()
            try:
                await asyncio.wait_for(asyncio.shield(self._done.wait()), grace)
            except TimeoutError:
                self.signal_group(signal.SIGKILL)
                await self._done.wait()
        if self._hung_up:
            # Members of its group that outlived the leader go too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._hung_up = False
        return self.exit_status

    def kill_now(self) -> None:
        """Synchronous last resort (interpreter exit, signal handlers): SIGKILL the group."""
        if self.pid is not None and self.exit_status is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)


def kill_all() -> None:
    """SIGKILL every child still running (used at interpreter exit and by signal handlers)."""
    for proc in list(_live):
        proc.kill_now()


atexit.register(kill_all)
