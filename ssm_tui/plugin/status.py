"""The connection state of our plugin, told to the app on a pipe of its own.

The app's pane label (`● connected`) must follow a reconnect of the builtin client. The plugin's
stdout and stderr are the pane's pty, so anything said there is drawn over the session (a
status line lands in the middle of a full-screen editor) and can be forged by whatever runs
remotely (`printf` of the same text or an OSC sequence). A pipe inherited by the plugin alone
carries it out of band instead: the app creates it (`status_pipe`), the plugin finds the write
end's number in `SSM_TUI_PLUGIN_STATUS_FD` (`StatusWriter.from_environment`, which removes the
variable so the session's children never see it) and writes one line per change:

    reconnecting<TAB>the connection was lost
    connected<TAB>reconnected after 3.2 s

The official plugin gets no such pipe and says nothing: its pane keeps `● connected`, which is
all that can be known of it. `StatusReader` reads the lines on the app's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

STATUS_FD_ENV = "SSM_TUI_PLUGIN_STATUS_FD"
RECONNECTING = "reconnecting"
CONNECTED = "connected"
STATES = frozenset({RECONNECTING, CONNECTED})
MAX_LINE = 4096
"""A longer line without a newline is not ours: it is dropped, not buffered without end."""


def status_pipe() -> tuple[int, int]:
    """(read end for the app, write end for the plugin). Neither is inheritable: the write end
    reaches the plugin alone through its `pass_fds`; the read end never blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    return read_end, write_end


class StatusWriter:
    """The plugin's end: one line per state change; a reader that went away costs nothing."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        with contextlib.suppress(OSError):
            os.set_inheritable(fd, False)  # the remote session's local children get nothing
            os.set_blocking(fd, False)  # a stuck reader must never stall the session

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> StatusWriter | None:
        env = os.environ if environ is None else environ
        value = env.pop(STATUS_FD_ENV, None)
        if not value:
            return None
        try:
            fd = int(value)
            os.fstat(fd)
        except (ValueError, OSError):
            return None
        return cls(fd)

    def write(self, state: str, detail: str = "") -> None:
        line = f"{state}\t{' '.join(detail.split())}\n".encode()
        with contextlib.suppress(OSError):  # EPIPE (app gone), EAGAIN (app not reading)
            os.write(self.fd, line[:MAX_LINE])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class StatusReader:
    """The app's end: calls `on_state(state, detail)` for each line, on the running loop."""

    def __init__(self, fd: int, on_state: Callable[[str, str], None]) -> None:
        self.fd: int | None = fd
        self._on_state = on_state
        self._buffer = b""
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self.fd is None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the plugin exited (or closed its end)
            self.close()
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""
        for line in lines:
            state, _, detail = line.decode("utf-8", "replace").partition("\t")
            if state in STATES:
                self._on_state(state, detail)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
