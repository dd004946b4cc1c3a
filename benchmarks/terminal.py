"""Terminal pane benchmarks: a 20 MB ``cat`` through the pane, and keystroke-to-echo latency.

Run: ``.venv/bin/python benchmarks/terminal.py [--size-mb 20] [--rounds 5] [--local-only]``
(about 2.5 minutes).

Local part (no network):

1. Ceiling: ``cat FILE`` in a bare local pty, read by a plain Python loop (no emulator, no UI).
2. The pane: the same ``cat`` typed into a shell running in a ``TerminalPane`` inside a headless
   Textual app (``App.run_test``): pty reads + emulation + rendering, from the Enter key until the
   end marker has been fed and the frame after it painted. While the flood runs, an app-level
   priority key is posted every 20 ms and the time until its action runs is recorded (the UI must
   keep answering keys).
3. Keystroke-to-echo in the pane: a key posted to the app until the character is painted by
   ``render_line`` (key handling, pty write, shell echo, pty read, emulation, frame). Target: the
   median within one 16 ms frame.

Session part (unless ``--local-only``): a sandbox (``ssm_tui.demo.SandboxProcess``) is started, an
Online Linux instance picked, and for each step a fresh session is started with StartSession
(profile ``sandbox``) and run by our plugin (``ssm-tui-plugin``, argv/env from
``plugin_command``). The sandbox's shells are real local shells, so the same file in /tmp is
``cat``-ed remotely.

4. The data channel alone, no pane: the plugin in a bare pty read by a plain Python loop; from
   the Enter key until the end marker has been read. Then keystroke-to-echo read from that pty
   (no emulator, no UI): what the session itself costs per key.
5. The data channel in-process: ``DataChannelClient`` on asyncio (no plugin process, no pty on
   our side), output counted until the end marker: how much the plugin process and its pty add.
6. The pane through a session: ``measure_pane`` with the plugin's argv (data channel + emulation
   + rendering), with the key-response and keystroke-to-echo figures of 2 and 3.

4-6 run in ``--rounds`` interleaved rounds (the machine is shared and its load drifts): each
figure is the median, each run is shown, and pane/data channel is also given best run to best run.
Ratios printed: pane/data channel (target >= 0.9: the pane is never the bottleneck), data
channel/ceiling, and the key figures. The pane also reports whether it ever held the producer
back (stopped reading its pty), which tells back-pressure apart from sharing the CPU.
Every session is terminated (TerminateSession) and every child killed, whatever happens; the
sandbox is stopped on exit, on SIGTERM and on SIGHUP.

``measure_pane(argv, env, path)`` is the reusable part: pass the argv of any command that ends in
an interactive POSIX shell that can read ``path`` (a local bash, or a Session Manager session)
and it returns the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import fcntl
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402

from ssm_tui.aws.models import StartedSession  # noqa: E402
from ssm_tui.aws.sessions import start_session, terminate_session  # noqa: E402
from ssm_tui.demo import SandboxProcess  # noqa: E402
from ssm_tui.plugin.client import DataChannelClient  # noqa: E402
from ssm_tui.plugin.launcher import BUILTIN, plugin_command  # noqa: E402
from ssm_tui.term.pty import PtyProcess, set_winsize  # noqa: E402
from ssm_tui.ui.widgets.terminal import MAX_BACKLOG, TerminalPane  # noqa: E402

T = TypeVar("T")
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
    pauses: int = 0
    """Times the pane stopped reading its pty during the flood (backlog over ``MAX_BACKLOG``):
    only then does the pane hold the producer back directly; otherwise it only competes for CPU."""


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
        state = {
            "fed": 0,
            "marker_at": None,
            "tail": b"",
            "painted_after_marker": None,
            "flooding": False,
        }
        feed = pane.emulator.feed

        def counting_feed(data: bytes) -> set[int]:
            state["fed"] += len(data)
            if state["marker_at"] is None and MARKER in state["tail"] + data:
                state["marker_at"] = time.perf_counter()
            state["tail"] = data[-len(MARKER) :]
            return feed(data)

        pane.emulator.feed = counting_feed  # type: ignore[method-assign]
        process = pane.process
        assert process is not None
        pause_reading = process.pause_reading

        def counting_pause() -> None:
            if pane._backlog_size > MAX_BACKLOG:  # back-pressure, not a flood's read gap
                result.pauses += 1
            pause_reading()

        process.pause_reading = counting_pause  # type: ignore[method-assign]
        render_line = pane.render_line
        painted: dict[str, object] = {"want": None, "at": None}

        def spying_render_line(y: int):  # type: ignore[no-untyped-def]
            strip = render_line(y)
            if y == 0 and state["flooding"]:
                result.frames += 1
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
        state["flooding"] = True
        start = time.perf_counter()
        cpu = time.process_time()
        pane.send(command.encode())
        while state["painted_after_marker"] is None:
            if time.perf_counter() - start > 600:
                raise TimeoutError("the flood did not end within 10 minutes")
            if pane.exit_status is not None:
                raise RuntimeError(f"the pane's process ended: {pane.screen_text()[-300:]}")
            if app.ping_sent is None:
                app.ping_sent = time.perf_counter()
                app.post_message(events.Key("f12", None))
            await asyncio.sleep(0.02)
        result.flood_seconds = state["painted_after_marker"] - start  # type: ignore[operator]
        state["flooding"] = False
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


# --- 4, 5 and 6. through a session against the sandbox ----------------------------------------

PROFILE = "sandbox"
STEP_TIMEOUT = 600.0
"""Longest any one flood may take (20 MB through a slow channel on a loaded machine)."""
_children: list[subprocess.Popen[bytes]] = []


def _controlling_tty() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _kill_children() -> None:
    for proc in _children:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _children.clear()


atexit.register(_kill_children)


class BarePty:
    """A command in a pty of its own, read by a plain Python loop (select + os.read): what the
    data channel delivers with no emulator and no UI."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cols: int, rows: int) -> None:
        self.master, slave = os.openpty()
        try:
            set_winsize(slave, cols, rows)
            self.proc = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env={**os.environ, "TERM": "xterm-256color", **env},
                start_new_session=True,
                preexec_fn=_controlling_tty,
            )
        except BaseException:
            os.close(self.master)
            raise
        finally:
            os.close(slave)
        _children.append(self.proc)
        self.seen = bytearray()  # output read but not yet consumed by read_until

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def read_until(self, needle: bytes, timeout: float) -> int:
        """Read until ``needle`` has arrived; bytes read (output after the needle is dropped).
        Only the last bytes are kept for matching, so a 20 MB flood costs no copies."""
        deadline = time.perf_counter() + timeout
        window = bytes(self.seen)
        total = len(window)
        self.seen.clear()
        while needle not in window:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {needle!r} within {timeout:.0f} s; last: {window[-200:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                raise EOFError(f"the command ended; last output: {window[-300:]!r}")
            total += len(data)
            window = window[-len(needle) :] + data
        return total

    def drain(self, quiet: float = 0.3) -> None:
        """Read and drop output until none came for ``quiet`` seconds."""
        while select.select([self.master], [], [], quiet)[0]:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return
        self.seen.clear()

    def close(self, grace: float = 5.0) -> None:
        """Ask the shell to exit (the plugin then ends the session), then kill what is left."""
        with contextlib.suppress(OSError):
            self.send(b"exit\r")
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


@dataclass
class ChannelResult:
    flood_seconds: float = 0.0
    flood_bytes: int = 0
    reader_cpu: float = 0.0
    echo_latencies_ms: list[float] = field(default_factory=list)


def bare_session_cat(
    argv: Sequence[str], env: Mapping[str, str], path: str, echo_keys: int = 60
) -> ChannelResult:
    """4. The session's plugin in a bare pty: ``cat path`` until the marker, then key echoes."""
    result = ChannelResult()
    pty = BarePty(argv, env, *SIZE)
    try:
        pty.read_until(b"$ ", 60)
        pty.send(b"clear\r")
        pty.drain()
        start = time.perf_counter()
        cpu = time.process_time()
        pty.send(f"cat {path}; echo {TYPED_MARKER}\r".encode())
        result.flood_bytes = pty.read_until(MARKER, STEP_TIMEOUT)
        result.flood_seconds = time.perf_counter() - start
        result.reader_cpu = time.process_time() - cpu
        pty.drain()
        for i in range(echo_keys):
            key = b"abcdefghij"[i % 10 : i % 10 + 1]
            sent = time.perf_counter()
            pty.send(key)
            pty.read_until(key, 10)
            result.echo_latencies_ms.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.01)
        pty.send(b"\x15")  # ctrl+u: clear the line before exit
        pty.drain(0.2)
    finally:
        pty.close()
    return result


async def client_cat(started: StartedSession, path: str) -> ChannelResult:
    """5. The data channel in-process (``DataChannelClient``): no plugin process, no pty here."""
    result = ChannelResult()
    state: dict[str, object] = {"bytes": 0, "window": b""}
    prompt, marker = asyncio.Event(), asyncio.Event()

    def on_output(payload_type: int, data: bytes) -> None:
        state["bytes"] += len(data)  # type: ignore[operator]
        window = state["window"][-len(MARKER) :] + data  # type: ignore[index,operator]
        state["window"] = window
        if b"$ " in window:
            prompt.set()
        if MARKER in window:
            marker.set()

    client = DataChannelClient(
        started.stream_url, started.token_value, session_id=started.session_id, on_output=on_output
    )
    async with client:
        await asyncio.wait_for(client.wait_ready(), 60)
        await client.resize(*SIZE)
        await asyncio.wait_for(prompt.wait(), 60)
        await asyncio.sleep(0.3)
        state["bytes"] = 0
        start = time.perf_counter()
        cpu = time.process_time()
        await client.send_input(f"cat {path}; echo {TYPED_MARKER}\r".encode())
        await asyncio.wait_for(marker.wait(), STEP_TIMEOUT)
        result.flood_seconds = time.perf_counter() - start
        result.reader_cpu = time.process_time() - cpu
        result.flood_bytes = state["bytes"]  # type: ignore[assignment]
        await client.send_input(b"exit\r")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.wait_closed(), 5)
    return result


def pick_target(profile: str) -> str:
    """An Online Linux managed instance of ``profile`` (the sandbox's env must be applied)."""
    import boto3

    ssm = boto3.Session(profile_name=profile).client("ssm")
    for page in ssm.get_paginator("describe_instance_information").paginate():
        for info in page["InstanceInformationList"]:
            if info.get("PingStatus") == "Online" and info.get("PlatformType") == "Linux":
                return str(info["InstanceId"])
    raise RuntimeError(f"no Online Linux instance in profile {profile!r}")


@contextlib.asynccontextmanager
async def session(target: str) -> AsyncIterator[StartedSession]:
    """A fresh session on ``target``, always terminated afterwards."""
    started = await asyncio.wait_for(start_session(PROFILE, None, target), 60)
    try:
        yield started
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                terminate_session(
                    PROFILE, started.region, started.session_id, started.endpoint_url
                ),
                20,
            )


@dataclass
class SessionFigures:
    target: str = ""
    bare: list[ChannelResult] = field(default_factory=list)
    client: list[ChannelResult] = field(default_factory=list)
    pane: list[PaneResult] = field(default_factory=list)


async def measure_sessions(target: str, path: str, rounds: int) -> SessionFigures:
    """4, 5 and 6, each in a session of its own, interleaved over ``rounds`` rounds (the
    machine is shared: its load drifts, and the medians of interleaved runs resist that)."""
    figures = SessionFigures(target=target)
    for _ in range(rounds):
        async with session(target) as started:
            launch = plugin_command(started, plugin=BUILTIN, token_pipe=False)
            argv, env = launch.argv, launch.env
            # On the main thread, blocking the idle loop: a signal then unwinds through it.
            figures.bare.append(bare_session_cat(argv, env, path))
        async with session(target) as started:
            figures.client.append(await client_cat(started, path))
        async with session(target) as started:
            launch = plugin_command(started, plugin=BUILTIN, token_pipe=False)
            argv, env = launch.argv, launch.env
            figures.pane.append(await measure_pane(argv, env, path))
    return figures


def _keys_line(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label}: no samples"
    return (
        f"  {label}: n={len(values)} median {statistics.median(values):.1f} ms,"
        f" p99 {pct(values, 0.99):.1f} ms, max {max(values):.1f} ms"
    )


def _runs(seconds: list[float]) -> str:
    return " ".join(f"{s:.2f}" for s in seconds)


def report_sessions(
    figures: SessionFigures, ceiling: tuple[float, int, float], local: PaneResult, size: int
) -> None:
    mb = size / 1e6
    ceiling_s = ceiling[0]
    bare_s = statistics.median(r.flood_seconds for r in figures.bare)
    client_s = statistics.median(r.flood_seconds for r in figures.client)
    pane_s = statistics.median(r.flood_seconds for r in figures.pane)
    rounds = len(figures.pane)
    print(
        f"\nthrough a session (sandbox, target {figures.target}, our plugin), same file;"
        f" {rounds} interleaved rounds, medians (each run in brackets)"
    )
    bare_cpu = statistics.median(r.reader_cpu for r in figures.bare)
    print(
        f"  data channel alone, plugin in a bare pty:    {bare_s:6.2f} s {mb / bare_s:6.1f} MB/s"
        f"  [{_runs([r.flood_seconds for r in figures.bare])}]"
        f" ({figures.bare[0].flood_bytes / 1e6:.1f} MB read; reader CPU {bare_cpu:.2f} s)"
    )
    client_cpu = statistics.median(r.reader_cpu for r in figures.client)
    print(
        f"  data channel in-process (DataChannelClient): {client_s:6.2f} s"
        f" {mb / client_s:6.1f} MB/s  [{_runs([r.flood_seconds for r in figures.client])}]"
        f" (client CPU {client_cpu:.2f} s; no plugin process, no pty)"
    )
    pane_cpu = statistics.median(r.flood_cpu for r in figures.pane)
    frames = statistics.median(r.frames for r in figures.pane)
    print(
        f"  TerminalPane through the session:            {pane_s:6.2f} s {mb / pane_s:6.1f} MB/s"
        f"  [{_runs([r.flood_seconds for r in figures.pane])}]"
        f" (pane CPU {pane_cpu:.2f} s; {frames:.0f} repaints of the top line)"
    )
    pauses = sum(r.pauses for r in figures.pane)
    print(
        f"  the pane stopped reading its pty {pauses} times in all (backlog over"
        f" {MAX_BACKLOG >> 20} MB): otherwise it kept up and only shared the CPU"
    )
    pane_ratio = bare_s / pane_s
    verdict = "ok" if pane_ratio >= 0.9 else "BELOW TARGET"
    per_round = " ".join(
        f"{b.flood_seconds / p.flood_seconds:.2f}"
        for b, p in zip(figures.bare, figures.pane, strict=True)
    )
    print(
        f"  ratio pane / data channel alone: {pane_ratio:.2f} (target >= 0.9: {verdict});"
        f" per round [{per_round}]"
    )
    best = min(r.flood_seconds for r in figures.bare) / min(r.flood_seconds for r in figures.pane)
    print(f"  ratio pane / data channel alone, best run of each: {best:.2f}")
    print(f"  ratio data channel alone / ceiling: {ceiling_s / bare_s:.3f}")
    print(f"  ratio data channel in-process / ceiling: {ceiling_s / client_s:.3f}")
    print(f"  ratio pane through session / ceiling: {ceiling_s / pane_s:.3f}")
    keys = [v for r in figures.pane for v in r.key_latencies_ms]
    print(_keys_line("app key response during the session flood", keys))
    bare_echo = [v for r in figures.bare for v in r.echo_latencies_ms]
    echo = [v for r in figures.pane for v in r.echo_latencies_ms]
    print(_keys_line("keystroke to echo, bare pty through the session", bare_echo))
    print(_keys_line("keystroke to echo painted in the pane through the session", echo))
    if echo:
        median = statistics.median(echo)
        verdict = "ok" if median <= 1000 / 60 else "ABOVE TARGET"
        print(f"  pane echo median vs one 16.7 ms frame: {verdict}")
        if bare_echo:
            added = median - statistics.median(bare_echo)
            print(f"  pane's own share of the echo median: {added:+.1f} ms")
    if local.echo_latencies_ms:
        print(
            f"  (local bash in the pane for comparison: echo median"
            f" {statistics.median(local.echo_latencies_ms):.1f} ms)"
        )


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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: sessions, children, sandbox


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` where SIGTERM/SIGHUP cancel the main task, so every ``finally`` runs
    (sessions terminated, the panes' processes ended, the app shut down); then SystemExit. An
    exception raised by a signal handler inside Textual's callbacks would be caught by the app
    and leave the benchmark waiting."""

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        caught: list[int] = []

        def stop(signum: int) -> None:
            caught.append(signum)
            task.cancel()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop, sig)
        try:
            return await coro
        except asyncio.CancelledError:
            if caught:
                raise SystemExit(128 + caught[0]) from None
            raise
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)  # resets to SIG_DFL: ours again below
                signal.signal(sig, _raise_on_signal)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0, help="file size (default 20)")
    parser.add_argument(
        "--local-only", action="store_true", help="skip the session part (no sandbox)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved session rounds (default 5)"
    )
    args = parser.parse_args()
    size = int(args.size_mb * 1e6)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_on_signal)
    # In /tmp (not a private folder): the sandbox's remote shells read it by the same path.
    with tempfile.TemporaryDirectory(prefix="ssm-tui-term-bench-", dir="/tmp") as tmp:
        path = Path(tmp) / "flood.txt"
        make_file(path, size)
        cols, rows = SIZE[0], SIZE[1]
        ceiling = bare_pty_cat(path, cols, rows)
        loop_s = run(loop_pty_cat(path, cols, rows))
        env = {"PS1": "$ ", "HISTFILE": "/dev/null", "HOME": tmp}
        pane = run(measure_pane(["bash", "--noprofile", "--norc"], env, str(path)))
        report(ceiling, loop_s, pane, size)
        if args.local_only:
            return
        sys.stdout.flush()
        try:
            with SandboxProcess() as sandbox:
                os.environ.update(sandbox.env)
                target = pick_target(PROFILE)
                figures = run(measure_sessions(target, str(path), args.rounds))
        finally:
            _kill_children()
        report_sessions(figures, ceiling, pane, size)


if __name__ == "__main__":
    main()
