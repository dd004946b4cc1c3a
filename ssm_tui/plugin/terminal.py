"""The local terminal side of a plugin session: raw mode, size, stdin reading, stdout writing.

Raw mode (not the official plugin's cbreak): every byte the user types, Ctrl-C and Ctrl-Z
included, reaches the remote pty unchanged, and Enter arrives as `\\r` without rewriting. The saved
mode is restored on every way out of `raw_mode()` (return, exception, cancellation); signals that
end the process are turned into exceptions by the caller so the `finally` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import stat
import termios
import tty
from collections.abc import Iterator

READ_SIZE = 65536
"""How much one read of stdin may take: a paste arrives in few large reads, not one per key."""
DEFAULT_SIZE = (300, 100)
"""The size the official plugin reports when stdout is not a terminal."""


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[bool]:
    """Put `fd` in raw mode if it is a terminal; yield whether it did; always restore."""
    if not os.isatty(fd):
        yield False
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield True
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int = 1) -> tuple[int, int]:
    """(cols, rows) of the terminal on `fd`, else of stdin, else the official default."""
    for candidate in (fd, 0):
        if os.isatty(candidate):
            with contextlib.suppress(OSError):
                size = os.get_terminal_size(candidate)
                return size.columns, size.lines
    return DEFAULT_SIZE


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, waiting on a non-blocking descriptor instead of failing."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except InterruptedError:
            continue
        view = view[written:]


class StdinReader:
    """Reads whatever stdin has (up to READ_SIZE) without blocking the event loop.

    Uses the loop's reader callbacks for terminals, pipes and sockets, and a thread for regular
    files (epoll refuses them). Stdin is never switched to non-blocking: on a terminal it shares
    its file description with stdout, and non-blocking stdout would break output writes.
    """

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        mode = os.fstat(fd).st_mode
        self._threaded = stat.S_ISREG(mode)

    async def read(self) -> bytes:
        """The next chunk; b"" at end of input."""
        loop = asyncio.get_running_loop()
        if self._threaded:
            return await loop.run_in_executor(None, os.read, self.fd, READ_SIZE)
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)
        try:
            data = os.read(self.fd, READ_SIZE)
        except OSError as exc:
            if exc.errno == errno.EIO:  # the terminal went away (hangup)
                return b""
            raise
        return self._more(data) if data else data

    def _more(self, data: bytes) -> bytes:
        """Whatever else is already waiting, up to READ_SIZE: a terminal hands a paste over a
        few KB per read, and each read would otherwise become its own batch of messages."""
        parts = [data]
        size = len(data)
        with contextlib.suppress(OSError):
            while size < READ_SIZE and select.select([self.fd], [], [], 0)[0]:
                more = os.read(self.fd, READ_SIZE - size)
                if not more:
                    break  # end of input: the next read() reports it
                parts.append(more)
                size += len(more)
        return b"".join(parts) if len(parts) > 1 else data
