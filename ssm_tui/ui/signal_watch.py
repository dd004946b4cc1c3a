"""Hear SIGTERM/SIGHUP on a thread of our own, whatever the main thread is doing.

A Python signal handler runs only when the main thread gets back to bytecode. It does not
inside an uninterruptible wait: a buffered stream's internal lock held by Textual's output
thread while that thread sits in `write()` to a terminal that stopped reading, or the
interpreter's own shutdown flushing stdout. CI caught the app ignoring SIGTERM for 30 s that
way. The C-level handler still runs at once, and it writes the signal's number to the wakeup
fd (`signal.set_wakeup_fd`): a thread blocked on the other end hears it immediately.

As a kernel-level backstop, the first signal also arms `alarm()`: SIGALRM has no Python
handler here, so its default action ends the process even if every thread is stuck.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

WATCHED = (signal.SIGTERM, signal.SIGHUP)


class SignalWatch:
    """Calls `on_signal(signum)` on a daemon thread for each SIGTERM/SIGHUP received."""

    def __init__(self, on_signal: Callable[[int], None], *, backstop: float) -> None:
        self._on_signal = on_signal
        self._backstop = max(1, int(backstop + 0.999))
        self._armed = False
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None

    def install(self) -> bool:
        """Take over the wakeup fd and the two signals; False where that cannot be done
        (not the main thread, or something else already owns the wakeup fd)."""
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        try:
            previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            reader.close()
            writer.close()
            return False
        if previous != -1:  # an event loop's own signal handling: leave it to that
            signal.set_wakeup_fd(previous)
            reader.close()
            writer.close()
            return False
        self._reader, self._writer = reader, writer
        for sig in WATCHED:
            # The Python-level handler does nothing: the C-level one has already written the
            # number to the wakeup fd, and replacing SIG_DFL is what keeps the process alive.
            signal.signal(sig, _ignore)
        threading.Thread(target=self._listen, name="ssm-tui-signals", daemon=True).start()
        return True

    def _listen(self) -> None:
        assert self._reader is not None
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum not in WATCHED:
                    continue  # SIGWINCH and the like also pass through the wakeup fd
                if not self._armed:
                    self._armed = True
                    signal.alarm(self._backstop)
                try:
                    self._on_signal(signum)
                except Exception:  # noqa: BLE001 - the backstop still ends the process
                    log.exception("signal %d handling failed", signum)


def _ignore(signum: int, frame: object) -> None:
    del signum, frame
