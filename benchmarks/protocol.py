"""Session protocol benchmark: our plugin through the sandbox beside a bare local pty (the ceiling).

Run: ``.venv/bin/python benchmarks/protocol.py [--mb 8] [--keys 200] [--official P] [--rtt 0,50]``

It starts its own sandbox (``ssm_tui.demo.SandboxProcess``), then measures, for each way in:
1. output throughput: ``seq`` printing about --mb MB in a shell, read until an end marker (MB/s);
2. keystroke round trip: one byte typed into ``cat`` until its echo comes back (median, p99);
3. paste: 1 MB written into ``head -c 1048576 >/dev/null`` in a raw remote pty, until the shell
   prints a marker (seconds).

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


def measure(name: str, argv: list[str], env: dict[str, str], mb: int, keys: int) -> dict:
    pty = Pty(argv, env)
    try:
        pty.command("export PS1='$ '; unset PROMPT_COMMAND; bind 'set enable-bracketed-paste off'")
        pty.command("stty -echo")
        # 1. throughput
        count = int(mb * 1_000_000 / 7.9)  # seq's average line length near 10^6
        start = time.perf_counter()
        out = pty.command(f"seq 1 {count}", marker="ENDSEQ")
        elapsed = time.perf_counter() - start
        size = len(out.replace(b"\r\r\n", b"\r\n"))  # the official plugin leaves OPOST on
        # 2. keystroke round trip into cat (the remote pty echoes)
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
        # 3. paste 1 MB into a raw remote pty
        pty.send(
            f"stty raw -echo; head -c {PASTE_SIZE} >/dev/null; stty sane; echo PA''STED\r".encode()
        )
        time.sleep(0.5)  # let the shell start head before the flood
        data = (b"0123456789abcdef" * 64 + b"\n") * (PASTE_SIZE // 1025 + 1)
        data = data[:PASTE_SIZE]
        start = time.perf_counter()
        writer = threading.Thread(target=pty.send, args=(data,))
        writer.start()
        pty.read_until(b"PASTED", timeout=600)
        paste = time.perf_counter() - start
        writer.join()
        pty.send(b"exit\r")
        samples.sort()
        return {
            "name": name,
            "mbps": size / elapsed / 1e6,
            "bytes": size,
            "rtt_median_ms": statistics.median(samples) * 1000,
            "rtt_p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
            "paste_s": paste,
        }
    finally:
        time.sleep(0.5)
        pty.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8, help="output size in MB (default 8)")
    parser.add_argument("--keys", type=int, default=200, help="keystrokes to time (default 200)")
    parser.add_argument("--official", help="path of session-manager-plugin to compare with")
    parser.add_argument("--rtt", default="0,50", help="data-channel RTTs in ms (default 0,50)")
    args = parser.parse_args()
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
        base = measure("local", ["bash", "--norc", "-i"], env, args.mb, args.keys)
        runs: list[tuple[float, list[dict]]] = []
        try:
            for rtt in rtts:
                sandbox.set_faults(data_channel_latency=int(round(rtt / 2)))
                runs.append((rtt, [measure(n, a, env, args.mb, args.keys) for n, a in remote]))
        finally:
            sandbox.reset_faults()

    print(
        f"target {target}; output {base['bytes'] / 1e6:.1f} MB; {args.keys} keystrokes; "
        f"paste {PASTE_SIZE // 1024} KiB; local = a bash in a pty here (the ceiling)"
    )
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
            f"{'ratio':>7} {'paste s':>8} {'ratio':>7}"
        )
        for r in [base, *results]:
            print(
                f"  {r['name']:<10} {r['mbps']:8.2f} {r['mbps'] / base['mbps']:7.3f} "
                f"{r['rtt_median_ms']:12.2f} {r['rtt_p99_ms']:8.2f} "
                f"{r['rtt_median_ms'] / base['rtt_median_ms']:7.1f} "
                f"{r['paste_s']:8.3f} {r['paste_s'] / base['paste_s']:7.1f}"
            )
        ours = next(r for r in results if r["name"] == "ssm-tui")
        echo_goal = rtt + 5
        verdict = "met" if ours["rtt_median_ms"] <= echo_goal else "NOT met"
        print(
            f"  goal echo <= 1 RTT + 5 ms = {echo_goal:g} ms: ssm-tui median "
            f"{ours['rtt_median_ms']:.1f} ms ({verdict})"
        )
        theirs = next((r for r in results if r["name"] == "official"), None)
        if theirs is not None:
            speedup = theirs["paste_s"] / ours["paste_s"]
            verdict = "met" if speedup >= 10 else "NOT met"
            print(
                f"  goal paste >= 10x the official plugin: {speedup:.1f}x "
                f"({theirs['paste_s']:.3f} s vs {ours['paste_s']:.3f} s; {verdict})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
