"""Which terminal emulator backend should the pane use? Measured, not guessed.

Run: ``.venv/bin/python benchmarks/emulators.py`` (add ``--quick`` for a short run).

For each backend importable here it prints:
* feed speed in MB/s per input at 80x24 and 200x50: bytes through our ``Emulator.feed`` (UTF-8
  decoding and mode tracking included, 64 KB chunks as the pane feeds them), best of several
  runs; pyte is the baseline column for the ratios;
* the cost of reading one full screen of cells (what a frame of a flood costs the pane);
* whether its screens agree with the reference on the captured vim/less/top/ls sessions.

pyghostty (Ghostty's VT core via cffi) is measured when importable (it is not a dependency; install
it into a scratch directory and put that on PYTHONPATH). par-term-emu-core-rust has no wheel for
Python 3.11 (every release requires Python >= 3.12), so it cannot be a candidate.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ssm_tui.term.emulator import available_backends, create_emulator  # noqa: E402

CAPTURES = ROOT / "tests" / "term" / "captures"
CHUNK = 64 * 1024


def _capture_bytes(name: str) -> bytes:
    capture = json.loads((CAPTURES / f"{name}.json").read_text())
    return b"".join(base64.b64decode(s["output"]) for s in capture["steps"])


def make_inputs(size: int) -> dict[str, bytes]:
    """Inputs of about ``size`` bytes each: real program captures repeated, plus synthetic."""
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "session", "manager", "instance", "i-0abc123"]

    def fill(make_line: Callable[[int], bytes]) -> bytes:
        out, i = bytearray(), 0
        while len(out) < size:
            out += make_line(i)
            i += 1
        return bytes(out[:size])

    inputs = {}
    for name in ("vim", "less", "top", "ls"):
        one = _capture_bytes(name)
        inputs[f"{name} (captured)"] = one * max(1, size // len(one))
    inputs["plain text"] = fill(
        lambda i: (" ".join(rng.choice(words) for _ in range(12)) + "\r\n").encode()
    )
    colours = [b"\x1b[01;34m", b"\x1b[01;32m", b"\x1b[38;5;208m", b"\x1b[38;2;10;200;30m"]
    inputs["SGR colours"] = fill(
        lambda i: (
            b"  ".join(
                rng.choice(colours) + rng.choice(words).encode() + b"\x1b[0m" for _ in range(8)
            )
            + b"\r\n"
        )
    )
    inputs["CJK + emoji"] = fill(lambda i: "接続 セッション 세션 🙂🚀 インスタンス\r\n".encode())
    return inputs


class _Ghostty:
    """Just enough of pyghostty to time it through the same motions."""

    backend = "pyghostty"

    def __init__(self, cols: int, rows: int) -> None:
        from pyghostty import Terminal

        self._t = Terminal(cols=cols, rows=rows, scrollback=10_000)
        self.cols, self.rows = cols, rows

    def feed(self, data: bytes) -> None:
        self._t.feed(data)

    def read_screen(self) -> None:
        style = self._t.style
        for y in range(self.rows):
            for x in range(self.cols):
                style(x, y)
        self._t.text()

    def text(self) -> str:
        return self._t.text()


def _factories() -> dict[str, Callable[[int, int], object]]:
    found: dict[str, Callable[[int, int], object]] = {}
    for name in available_backends():
        found[name] = lambda c, r, n=name: create_emulator(c, r, 10_000, backend=n)
    try:
        import pyghostty  # noqa: F401
    except ImportError:
        pass
    else:
        found["pyghostty"] = _Ghostty
    return found


def feed_speed(
    factory: Callable[[int, int], object], data: bytes, cols: int, rows: int, min_time: float
) -> float:
    """MB/s, best of runs (at least 2, and at least ``min_time`` seconds in all)."""
    best, spent, runs = 0.0, 0.0, 0
    while runs < 2 or spent < min_time:
        emulator = factory(cols, rows)
        start = time.perf_counter()
        for i in range(0, len(data), CHUNK):
            emulator.feed(data[i : i + CHUNK])  # type: ignore[attr-defined]
        took = time.perf_counter() - start
        spent += took
        runs += 1
        best = max(best, len(data) / took / 1e6)
    return best


def screen_read_ms(
    factory: Callable[[int, int], object], data: bytes, cols: int, rows: int
) -> float:
    emulator = factory(cols, rows)
    emulator.feed(data)  # type: ignore[attr-defined]
    reader = getattr(emulator, "read_screen", None)
    if reader is None:

        def reader() -> None:
            for y in range(rows):
                emulator.line(y)  # type: ignore[attr-defined]

    times = []
    for _ in range(5):
        start = time.perf_counter()
        reader()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def agrees_on_captures(factory: Callable[[int, int], object]) -> str:
    """Replays each capture step by step; compares screen text with the pyte reference."""
    bad = []
    for name in ("vim", "less", "top", "ls"):
        capture = json.loads((CAPTURES / f"{name}.json").read_text())
        emulator = factory(capture["cols"], capture["rows"])
        reference = create_emulator(capture["cols"], capture["rows"], backend="pyte")
        for i, step in enumerate(capture["steps"]):
            data = base64.b64decode(step["output"])
            emulator.feed(data)  # type: ignore[attr-defined]
            reference.feed(data)
            got = "\n".join(x.rstrip() for x in emulator.text().splitlines()).rstrip()  # type: ignore[attr-defined]
            want = reference.text().rstrip()
            if got != want:
                bad.append(f"{name}#{i}")
    return "yes" if not bad else "NO: " + ", ".join(bad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, shorter runs")
    args = parser.parse_args()
    fast_size = 256 * 1024 if args.quick else 1024 * 1024
    slow_size = 64 * 1024 if args.quick else 256 * 1024
    min_time = 0.2 if args.quick else 0.6
    factories = _factories()
    print(f"Python {sys.version.split()[0]}; backends here: {', '.join(factories)}")
    print("par-term-emu-core-rust: not a candidate (no release installs on Python 3.11)")
    inputs_fast = make_inputs(fast_size)
    inputs_slow = make_inputs(slow_size)
    results: dict[tuple[str, str, str], float] = {}
    sizes = [(80, 24), (200, 50)]
    for cols, rows in sizes:
        print(f"\nfeed speed, MB/s, {cols}x{rows} (ratio to pyte in brackets)")
        header = f"{'input':<18}" + "".join(f"{n:>20}" for n in factories)
        print(header)
        # pyte first: it is the baseline of the ratios.
        order = sorted(factories, key=lambda n: n != "pyte")
        for name in inputs_fast:
            for backend in order:
                data = (inputs_slow if backend == "pyte" else inputs_fast)[name]
                speed = feed_speed(factories[backend], data, cols, rows, min_time)
                results[(backend, name, f"{cols}x{rows}")] = speed
            row = f"{name:<18}"
            base = results.get(("pyte", name, f"{cols}x{rows}"))
            for backend in factories:
                speed = results[(backend, name, f"{cols}x{rows}")]
                ratio = f"({speed / base:.0f}x)" if base and backend != "pyte" else ""
                row += f"{speed:>13.2f} {ratio:>6}"
            print(row, flush=True)
    print("\nfull-screen cell read, ms (one frame of a flood), and capture agreement")
    for backend, factory in factories.items():
        data = inputs_fast["SGR colours"][:200_000]
        cost = [f"{screen_read_ms(factory, data, c, r):.2f} ms at {c}x{r}" for c, r in sizes]
        print(
            f"{backend:<10} {'; '.join(cost)}; captures agree with pyte: "
            f"{agrees_on_captures(factory)}"
        )


if __name__ == "__main__":
    main()
