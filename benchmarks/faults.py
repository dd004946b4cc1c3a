"""`ssm-tui list --json` under sandbox faults: tries, rows listed, failed scopes, time, peak RSS.

Baseline (no fault) is measured in the same run; each fault prints its ratio to it.
Run: .venv/bin/python benchmarks/faults.py [--tries N] [--big 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from ssm_tui.demo import SandboxProcess


def _list(env: dict[str, str], *args: str) -> tuple[float, int, int, int, float]:
    """(seconds, rows, error lines, exit status, child peak RSS MB) of one `list --json`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", "list", "--json", "--no-cache", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    took = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows = sum(1 for line in done.stdout.splitlines() if json.loads(line))
    errors = done.stderr.count("error:")
    return took, rows, errors, done.returncode, max(rss, before) / 1024


def run_faults(tries: int) -> None:
    with SandboxProcess() as sandbox:
        home = tempfile.mkdtemp(prefix="ssm-tui-bench-home-")
        sandbox.install_sso_token(home)
        env = {**os.environ, **sandbox.env, "HOME": home}
        base = [_list(env) for _ in range(tries)]
        t0 = sum(b[0] for b in base) / tries
        print(f"baseline: {t0:.2f} s, {base[0][1]} rows")
        for name, faults in (
            ("throttle 30%", {"throttle": 0.3}),
            ("throttle 60%", {"throttle": 0.6}),
            ("latency 300ms", {"latency_ms": 300}),
        ):
            sandbox.set_faults(**faults)
            runs = [_list(env) for _ in range(tries)]
            sandbox.reset_faults()
            full = sum(1 for r in runs if r[1] == base[0][1] and r[3] == 0)
            lost = sum(base[0][1] - r[1] for r in runs)
            mean = sum(r[0] for r in runs) / tries
            print(
                f"{name}: {full}/{tries} complete, rows lost {lost}, failed scopes "
                f"{sum(r[2] for r in runs)}, {mean:.2f} s ({mean / t0:.2f}x baseline)"
            )


def run_big(count: int) -> None:
    with SandboxProcess(instances=count) as sandbox:
        home = tempfile.mkdtemp(prefix="ssm-tui-bench-home-")
        sandbox.install_sso_token(home)
        env = {**os.environ, **sandbox.env, "HOME": home}
        took, rows, errors, code, rss = _list(env)
        print(
            f"--instances {count}: {rows} rows in {took:.2f} s, exit {code}, peak RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=4)
    parser.add_argument("--big", type=int, default=10_000)
    options = parser.parse_args()
    run_faults(options.tries)
    run_big(options.big)
