"""Session protocol benchmark: our plugin through the sandbox beside a bare local pty (the ceiling).

Run: ``.venv/bin/python benchmarks/protocol.py [--mb 8] [--keys 200] [--official P] [--rtt 0,50]
[--rounds 5] [--only throughput,echo,paste]``

It starts its own sandbox (``ssm_tui.demo.SandboxProcess``), then measures, for each way in:
1. output throughput: ``seq`` printing about --mb MB in a shell, read until an end marker (MB/s);
2. keystroke round trip: one byte typed into ``cat`` until its echo comes back (median, p99);
3. paste: 1 MB written into ``head -c 1048576 >/dev/null`` in a raw remote pty, until the shell
   prints a marker (seconds); --rounds times per way, the ways alternated round by round in
   sessions open side by side, so each pair of pastes shares the machine's load. The paste goal
   is the median of the per-round ratios official / ssm-tui, printed with its min and max.
   Also printed: the CPU time each paste cost the plugin process and the sandbox process
   (from /proc), which is what bounds a paste on a busy machine, whatever its load.

Ways in: ``local`` = bash in a pty of its own (the ceiling: no network, no protocol);
``ssm-tui`` = ``ssm-tui connect TARGET --plugin builtin`` in a pty (StartSession, our plugin,
the sandbox's data channel and its shell); and, when given or found on PATH, ``official`` = the
same with ``--plugin session-manager-plugin``. Ratios are against ``local`` from the same run.

Each data-channel RTT of ``--rtt`` (ms, default ``0,50``) is made with the sandbox's
``data_channel_latency`` fault (RTT/2 on every frame, each way), so the remote ways run as over a
real network while ``local`` stays the ceiling. Printed per RTT: the bandwidth-delay limits of
the windows (what no implementation with that window can beat), and the goals at 50 ms: paste at
least 10x faster than the official plugin, keystroke echo within 1 RTT + 5 ms.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ptyprocess import PtyProcess  # noqa: E402

from ssm_tui.demo import SandboxProcess  # noqa: E402
from ssm_tui.plugin.client import CHUNK_SIZE, CLIENT_WINDOW  # noqa: E402
from ssm_tui.sandbox.datachannel import WINDOW as SANDBOX_WINDOW  # noqa: E402

PASTE_SIZE = 1 << 20


class Pty:
    """A command in a pty, with a byte buffer and `read_until`."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = PtyProcess.spawn(argv, env=env, dimensions=(30, 100))
        self.fd = self.proc.fd
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def read_until(self, needle: bytes, timeout: float = 120) -> bytes:
        """Everything up to and including `needle`; the rest stays buffered."""
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            index = self.buf.find(needle, start)
            if index >= 0:
                end = index + len(needle)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            start = max(0, len(self.buf) - len(needle))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {needle!r} in {bytes(self.buf[-200:])!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise EOFError(bytes(self.buf[-300:]))
                self.buf += chunk

    def command(self, line: str, marker: str = "MARK") -> bytes:
        """Run `line`, wait until it prints `marker` (the echoed command line does not match)."""
        split = f"{marker[:2]}''{marker[2:]}"
        self.send(f"{line}; echo {split}\r".encode())
        return self.read_until(marker.encode() + b"\r")  # \r\r\n with the official plugin

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)


def open_way(argv: list[str], env: dict[str, str]) -> Pty:
    """A session (or the local bash) with a bare prompt, echo off."""
    pty = Pty(argv, env)
    pty.command("export PS1='$ '; unset PROMPT_COMMAND; bind 'set enable-bracketed-paste off'")
    pty.command("stty -echo")
    return pty


def close_way(pty: Pty) -> None:
    pty.send(b"exit\r")
    time.sleep(0.5)
    pty.close()


def throughput(pty: Pty, mb: float) -> dict:
    """`seq` printing about `mb` MB, read until an end marker."""
    count = int(mb * 1_000_000 / 7.9)  # seq's average line length near 10^6
    start = time.perf_counter()
    out = pty.command(f"seq 1 {count}", marker="ENDSEQ")
    elapsed = time.perf_counter() - start
    size = len(out.replace(b"\r\r\n", b"\r\n"))  # the official plugin leaves OPOST on
    return {"mbps": size / elapsed / 1e6, "bytes": size}


def echo(pty: Pty, keys: int) -> dict:
    """One byte typed into `cat` until the remote pty's echo of it comes back."""
    pty.command("stty echo")
    pty.send(b"cat\r")
    pty.read_until(b"cat\r")
    time.sleep(0.3)
    samples = []
    for i in range(keys):
        key = bytes([97 + i % 26])
        t0 = time.perf_counter()
        pty.send(key)
        pty.read_until(key)
        samples.append(time.perf_counter() - t0)
    pty.send(b"\x03")  # the tty flushes typeahead on interrupt: wait for the prompt
    pty.read_until(b"$ ")
    pty.command("stty -echo")
    samples.sort()
    return {
        "rtt_median_ms": statistics.median(samples) * 1000,
        "rtt_p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
    }


PASTE_DATA = ((b"0123456789abcdef" * 64 + b"\n") * (PASTE_SIZE // 1025 + 1))[:PASTE_SIZE]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def paste(pty: Pty, watched: tuple[int, ...] = ()) -> tuple[float, tuple[float, ...]]:
    """1 MB written into `head -c` in a raw remote pty, until the shell's marker: (seconds, CPU
    seconds each of `watched` spent meanwhile)."""
    pty.send(
        f"stty raw -echo; head -c {PASTE_SIZE} >/dev/null; stty sane -echo; "
        "echo PA''STED\r".encode()
    )
    time.sleep(0.5)  # let the shell start head before the flood
    before = [cpu_seconds(pid) for pid in watched]
    start = time.perf_counter()
    writer = threading.Thread(target=pty.send, args=(PASTE_DATA,))
    writer.start()
    pty.read_until(b"PASTED", timeout=600)
    elapsed = time.perf_counter() - start
    writer.join()
    used = tuple(cpu_seconds(pid) - b for pid, b in zip(watched, before, strict=True))
    return elapsed, used


def measure(
    ways: list[tuple[str, list[str]]],
    env: dict[str, str],
    args: argparse.Namespace,
    sandbox_pid: int | None = None,
) -> list[dict]:
    """Every way open at once; throughput and echo one way after the other, then the pastes
    alternated way by way for --rounds rounds, so each round's pastes share the machine's load.
    With `sandbox_pid`, each paste also records the CPU time of the way's plugin process (the
    child of `ssm-tui connect`) and of the sandbox."""
    opened = [(name, open_way(argv, env)) for name, argv in ways]
    watched: list[tuple[int, ...]] = []
    for _name, pty in opened:
        plugins = children(pty.proc.pid)
        watched.append((plugins[0], sandbox_pid) if plugins and sandbox_pid else ())
    try:
        results = []
        for name, pty in opened:
            result: dict = {"name": name, "pastes": [], "cpu": []}
            if "throughput" in args.only:
                result |= throughput(pty, args.mb)
            if "echo" in args.only:
                result |= echo(pty, args.keys)
            results.append(result)
        if "paste" in args.only:
            for _ in range(args.rounds):
                for result, (_name, pty), pids in zip(results, opened, watched, strict=True):
                    elapsed, used = paste(pty, pids)
                    result["pastes"].append(elapsed)
                    if used:
                        result["cpu"].append(used)
        for result in results:
            if result["pastes"]:
                result["paste_s"] = statistics.median(result["pastes"])
        return results
    finally:
        for _name, pty in opened:
            close_way(pty)


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8, help="output size in MB (default 8)")
    parser.add_argument("--keys", type=int, default=200, help="keystrokes to time (default 200)")
    parser.add_argument("--official", help="path of session-manager-plugin to compare with")
    parser.add_argument("--rtt", default="0,50", help="data-channel RTTs in ms (default 0,50)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="pastes per way, alternated way by way (default 5)"
    )
    parser.add_argument(
        "--only",
        default="throughput,echo,paste",
        help="comma-separated subset of throughput,echo,paste (default all)",
    )
    args = parser.parse_args()
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    official = args.official or shutil.which("session-manager-plugin")
    rtts = [float(x) for x in args.rtt.split(",") if x.strip()]

    with SandboxProcess() as sandbox:
        env = {**os.environ, **sandbox.env, "HOME": str(sandbox.directory)}
        os.environ.update(sandbox.env)
        import boto3

        infos = boto3.Session(profile_name="sandbox").client("ssm")
        target = next(
            i["InstanceId"]
            for i in infos.describe_instance_information()["InstanceInformationList"]
            if i["PingStatus"] == "Online" and i["PlatformType"] == "Linux"
        )
        connect = [sys.executable, "-m", "ssm_tui.cli", "connect", target, "--plugin"]
        remote = [("ssm-tui", [*connect, "builtin"])]
        if official:
            remote.append(("official", [*connect, official]))
        else:
            print("official plugin not found (--official PATH or on PATH): not compared")
        (base,) = measure([("local", ["bash", "--norc", "-i"])], env, args)
        runs: list[tuple[float, list[dict]]] = []
        try:
            for rtt in rtts:
                sandbox.set_faults(data_channel_latency=int(round(rtt / 2)))
                pid = sandbox.process.pid if sandbox.process is not None else None
                runs.append((rtt, measure(remote, env, args, pid)))
        finally:
            sandbox.reset_faults()

    load = os.getloadavg()[0]
    print(
        f"target {target}; output {base.get('bytes', 0) / 1e6:.1f} MB; {args.keys} keystrokes; "
        f"paste {PASTE_SIZE // 1024} KiB x {args.rounds} rounds per way, alternated; "
        f"local = a bash in a pty here (the ceiling); load average now {load:.1f}"
    )

    def cell(r: dict, key: str, width: int, digits: int, ratio: bool = False) -> str:
        if key not in r or key not in base:
            return f"{'-':>{width}}"
        value = r[key] / base[key] if ratio else r[key]
        return f"{value:{width}.{digits}f}"

    for rtt, results in runs:
        print()
        print(f"data-channel RTT {rtt:g} ms (sandbox fault data_channel_latency={rtt / 2:g} ms)")
        if rtt:
            out_limit = SANDBOX_WINDOW * CHUNK_SIZE / (rtt / 1000) / 1e6
            in_limit = CLIENT_WINDOW * CHUNK_SIZE / (rtt / 1000) / 1e6
            print(
                f"  bandwidth-delay limits: output <= {SANDBOX_WINDOW} msgs x {CHUNK_SIZE} B / RTT "
                f"= {out_limit:.1f} MB/s; ssm-tui input <= {CLIENT_WINDOW} x {CHUNK_SIZE} B / RTT "
                f"= {in_limit:.1f} MB/s (paste >= {PASTE_SIZE / (in_limit * 1e6) * 1000:.0f} ms "
                f"+ 1 RTT); official input: no window, 1 KB per ms (<= ~1 MB/s)"
            )
        print(
            f"  {'way in':<10} {'MB/s':>8} {'ratio':>7} {'echo med ms':>12} {'p99 ms':>8} "
            f"{'ratio':>7} {'paste s':>8} {'ratio':>7}  paste min / med / max s"
        )
        for r in [base, *results]:
            spread = ""
            if r.get("pastes"):
                values = r["pastes"]
                spread = f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"
            print(
                f"  {r['name']:<10} {cell(r, 'mbps', 8, 2)} {cell(r, 'mbps', 7, 3, True)} "
                f"{cell(r, 'rtt_median_ms', 12, 2)} {cell(r, 'rtt_p99_ms', 8, 2)} "
                f"{cell(r, 'rtt_median_ms', 7, 1, True)} "
                f"{cell(r, 'paste_s', 8, 3)} {cell(r, 'paste_s', 7, 1, True)}  {spread}"
            )
        ours = next(r for r in results if r["name"] == "ssm-tui")
        if "rtt_median_ms" in ours:
            echo_goal = rtt + 5
            verdict = "met" if ours["rtt_median_ms"] <= echo_goal else "NOT met"
            print(
                f"  goal echo <= 1 RTT + 5 ms = {echo_goal:g} ms: ssm-tui median "
                f"{ours['rtt_median_ms']:.1f} ms ({verdict})"
            )
        for r in results:
            if r.get("cpu"):
                plugin_ms = statistics.median(c[0] for c in r["cpu"]) * 1000
                sandbox_ms = statistics.median(c[1] for c in r["cpu"]) * 1000
                print(
                    f"  CPU per paste, {r['name']}: plugin {plugin_ms:.0f} ms, sandbox "
                    f"{sandbox_ms:.0f} ms (medians; {PASTE_SIZE // 1024} messages each way)"
                )
        theirs = next((r for r in results if r["name"] == "official"), None)
        if theirs is not None and ours.get("pastes"):
            pairs = [t / o for t, o in zip(theirs["pastes"], ours["pastes"], strict=True)]
            speedup = statistics.median(pairs)
            verdict = "met" if speedup >= 10 else "NOT met"
            print(
                f"  goal paste >= 10x the official plugin: {speedup:.1f}x, median of "
                f"{len(pairs)} paired rounds (min / med / max {_spread(pairs)}; {verdict})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
