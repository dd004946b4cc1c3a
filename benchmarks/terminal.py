"""Terminal pane benchmarks: a 20 MB ``cat`` through the pane, and keystroke-to-echo latency.

Run alone (local shell mode): ``.venv/bin/python benchmarks/terminal.py [--size-mb 20]``.

1. Ceiling: ``cat FILE`` in a bare local pty, read by a plain Python loop (no emulator, no UI).
2. The pane: the same ``cat`` typed into a shell running in a ``TerminalPane`` inside a headless
   Textual app (``App.run_test``): pty reads + emulation + rendering, from the Enter key until the
   end marker has been fed and the frame after it painted. While the flood runs, an app-level
   priority key is posted every 20 ms and the time until its action runs is recorded (the UI must
   keep answering keys).
3. Keystroke-to-echo in the pane: a key posted to the app until the character is painted by
   ``render_line`` (key handling, pty write, shell echo, pty read, emulation, frame). Target: the
   median within one 16 ms frame.

``measure_pane(argv, env, path)`` is the reusable part: pass the argv of any command that ends in
an interactive POSIX shell that can read ``path`` (a local bash here; a Session Manager session in
the session benchmarks) and it returns the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402

from ssm_tui.term.pty import PtyProcess, set_winsize  # noqa: E402
from ssm_tui.ui.widgets.terminal import TerminalPane  # noqa: E402

SIZE = (120, 40)
MARKER = b"__FLOOD_DONE__"
TYPED_MARKER = "__FLOOD_''DONE__"  # the shell prints MARKER; its echo of the command line does not


def make_file(path: Path, size: int) -> None:
    """Log-like text lines (ASCII), ``size`` bytes."""
    rng = random.Random(3)
    words = "instance session manager profile region account connect online agent ping".split()
    with path.open("wb") as f:
        written = 0
        n = 0
        while written < size:
            line = (
                f"2026-11-23T09:{n % 60:02d}:{n % 59:02d}Z i-{n:08x} "
                + " ".join(rng.choice(words) for _ in range(10))
                + "\n"
            ).encode()
            f.write(line)
            written += len(line)
            n += 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 1. the ceiling ---------------------------------------------------------------------------


def bare_pty_cat(path: Path, cols: int, rows: int) -> tuple[float, int, float]:
    """Seconds for ``cat path`` through a bare pty read by Python, bytes read, and the reader's
    CPU seconds."""
    master, slave = os.openpty()
    set_winsize(slave, cols, rows)
    start = time.perf_counter()
    cpu = time.process_time()
    proc = subprocess.Popen(
        ["cat", str(path)], stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    total = 0
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        total += len(data)
    took = time.perf_counter() - start
    cpu = time.process_time() - cpu
    proc.wait()
    os.close(master)
    return took, total, cpu


async def loop_pty_cat(path: Path, cols: int, rows: int) -> float:
    """Seconds for ``cat path`` through our PtyProcess on the asyncio loop, no emulator: the
    pty layer alone, between the ceiling and the pane."""
    proc = PtyProcess(["cat", str(path)], cols=cols, rows=rows, on_data=lambda data: None)
    start = time.perf_counter()
    await proc.start()
    await proc.wait()
    return time.perf_counter() - start


# --- 2 and 3. the pane ------------------------------------------------------------------------


@dataclass
class PaneResult:
    flood_seconds: float = 0.0
    flood_bytes: int = 0
    flood_cpu: float = 0.0
    """CPU seconds this process spent during the flood (pty reads, emulation, rendering)."""
    key_latencies_ms: list[float] = field(default_factory=list)
    echo_latencies_ms: list[float] = field(default_factory=list)
    frames: int = 0


class BenchApp(App[None]):
    BINDINGS = [Binding("f12", "ping", "ping", priority=True)]

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        super().__init__()
        self.argv, self.env = list(argv), dict(env)
        self.ping_sent: float | None = None
        self.latencies: list[float] = []

    def compose(self) -> ComposeResult:
        yield TerminalPane(self.argv, self.env, id="pane")

    def action_ping(self) -> None:
        if self.ping_sent is not None:
            self.latencies.append((time.perf_counter() - self.ping_sent) * 1000)
            self.ping_sent = None


async def _until(predicate: Callable[[], bool], timeout: float, step: float = 0.002) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        await asyncio.sleep(step)


async def measure_pane(
    argv: Sequence[str],
    env: Mapping[str, str],
    path: str,
    *,
    echo_keys: int = 60,
    ready_timeout: float = 60,
) -> PaneResult:
    """Flood and echo figures for a TerminalPane running ``argv`` (an interactive shell)."""
    result = PaneResult()
    app = BenchApp(argv, env)
    async with app.run_test(size=SIZE):
        pane = app.query_one(TerminalPane)
        pane.focus()
        await _until(lambda: pane.process is not None and "$" in pane.screen_text(), ready_timeout)

        # Spy on the pane: bytes fed (and the marker), and lines painted.
        state = {"fed": 0, "marker_at": None, "tail": b"", "painted_after_marker": None}
        feed = pane.emulator.feed

        def counting_feed(data: bytes) -> set[int]:
            state["fed"] += len(data)
            if state["marker_at"] is None and MARKER in state["tail"] + data:
                state["marker_at"] = time.perf_counter()
            state["tail"] = data[-len(MARKER) :]
            return feed(data)

        pane.emulator.feed = counting_feed  # type: ignore[method-assign]
        render_line = pane.render_line
        painted: dict[str, object] = {"want": None, "at": None}

        def spying_render_line(y: int):  # type: ignore[no-untyped-def]
            strip = render_line(y)
            result.frames += y == 0
            if state["marker_at"] is not None and state["painted_after_marker"] is None:
                state["painted_after_marker"] = time.perf_counter()
            want = painted["want"]
            if want is not None and painted["at"] is None and y == pane.emulator.cursor.y:
                if strip.text.rstrip().endswith(want):  # type: ignore[arg-type]
                    painted["at"] = time.perf_counter()
            return strip

        pane.render_line = spying_render_line  # type: ignore[method-assign]

        # Flood: type the command, then ping the app every 20 ms until the marker is painted.
        command = f"cat {path}; echo {TYPED_MARKER}\r"
        pane.send(b"clear\r")
        await asyncio.sleep(0.3)
        state["fed"] = 0
        start = time.perf_counter()
        cpu = time.process_time()
        pane.send(command.encode())
        while state["painted_after_marker"] is None:
            if time.perf_counter() - start > 600:
                raise TimeoutError("the flood did not end within 10 minutes")
            if app.ping_sent is None:
                app.ping_sent = time.perf_counter()
                app.post_message(events.Key("f12", None))
            await asyncio.sleep(0.02)
        result.flood_seconds = state["painted_after_marker"] - start  # type: ignore[operator]
        result.flood_cpu = time.process_time() - cpu
        result.flood_bytes = state["fed"]
        result.key_latencies_ms = list(app.latencies)

        # Keystroke to echo: one key at a time, each until painted.
        await asyncio.sleep(0.5)
        pane.send(b"clear\r")
        await asyncio.sleep(0.5)
        typed = ""
        for i in range(echo_keys):
            ch = "abcdefghij"[i % 10]
            typed += ch
            painted["want"], painted["at"] = typed[-8:], None
            sent = time.perf_counter()
            app.post_message(events.Key(ch, ch))
            await _until(lambda: painted["at"] is not None, 10, step=0.0005)
            result.echo_latencies_ms.append((painted["at"] - sent) * 1000)  # type: ignore[operator]
            await asyncio.sleep(0.01)
        pane.send(b"\x15")  # ctrl+u: clear the line
        await pane.terminate()
    return result


def report(ceiling: tuple[float, int, float], loop_s: float, pane: PaneResult, size: int) -> None:
    mb = size / 1e6
    ceiling_s, ceiling_bytes, ceiling_cpu = ceiling
    print(f"\ncat of a {mb:.0f} MB file, pane {SIZE[0]}x{SIZE[1]}")
    print(
        f"  bare pty read by Python (ceiling): {ceiling_s:6.2f} s  {mb / ceiling_s:7.1f} MB/s"
        f"  ({ceiling_bytes / 1e6:.1f} MB through the tty; reader CPU {ceiling_cpu:.2f} s)"
    )
    print(f"  PtyProcess on asyncio, no emulator: {loop_s:6.2f} s  {mb / loop_s:7.1f} MB/s")
    print(
        f"  TerminalPane (pty+emulator+frames): {pane.flood_seconds:6.2f} s"
        f"  {mb / pane.flood_seconds:7.1f} MB/s  ({pane.flood_bytes / 1e6:.1f} MB fed;"
        f" {pane.frames} repaints of the top line)"
    )
    print(
        f"  pane CPU during the flood: {pane.flood_cpu:.2f} s = {mb / pane.flood_cpu:.1f} MB per"
        f" CPU-second (wall time above depends on the load of the machine)"
    )
    print(f"  ratio pane / ceiling: {ceiling_s / pane.flood_seconds:.2f}")
    keys = pane.key_latencies_ms
    if keys:
        print(
            f"  app key response during the flood: n={len(keys)} median"
            f" {statistics.median(keys):.1f} ms, p99 {pct(keys, 0.99):.1f} ms,"
            f" max {max(keys):.1f} ms"
        )
    echo = pane.echo_latencies_ms
    print(
        f"\nkeystroke to echo painted in the pane (local bash): n={len(echo)} median"
        f" {statistics.median(echo):.1f} ms, p99 {pct(echo, 0.99):.1f} ms"
        f" (target: median within one 16 ms frame)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0, help="file size (default 20)")
    args = parser.parse_args()
    size = int(args.size_mb * 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.txt"
        make_file(path, size)
        cols, rows = SIZE[0], SIZE[1]
        ceiling = bare_pty_cat(path, cols, rows)
        loop_s = asyncio.run(loop_pty_cat(path, cols, rows))
        env = {"PS1": "$ ", "HISTFILE": "/dev/null", "HOME": tmp}
        pane = asyncio.run(measure_pane(["bash", "--noprofile", "--norc"], env, str(path)))
        report(ceiling, loop_s, pane, size)


if __name__ == "__main__":
    main()
