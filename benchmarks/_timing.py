"""What the benchmark scripts share: a sandbox of their own, wall-clock timing, alternated runs.

Every benchmark prints figures against a baseline measured in the same run; on a shared machine
that is only fair when the ways being compared take turns (A B A B ...), so a burst of load
hits both. `alternate` runs them so; `timed` times one command as a whole process;
`bench_sandbox` starts a sandbox in a scratch folder with none of the caller's AWS settings.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ssm_tui.demo import SandboxProcess

T = TypeVar("T")
K = TypeVar("K")


@contextlib.contextmanager
def bench_sandbox(
    prefix: str, *, folder: str = "sandbox", **options: Any
) -> Iterator[tuple[SandboxProcess, Path, dict[str, str]]]:
    """A started sandbox, its scratch folder, and the environment to run clients with.

    The environment (also applied to this process, for boto3) has no AWS_* of the caller's and
    a HOME in the scratch folder, so nothing of the user's own setup is read or written.
    """
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(scratch / "home")
    sandbox = SandboxProcess(directory=scratch / folder, env=env, **options).start(timeout=60)
    try:
        env.update(sandbox.env)
        os.environ.update(sandbox.env)
        yield sandbox, scratch, env
    finally:
        sandbox.stop()


def timed(argv: list[str], env: Mapping[str, str], **kwargs: Any) -> float:
    """Seconds one command takes to run to its end (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(argv, env=dict(env), check=True, **kwargs)
    return time.perf_counter() - start


def alternate(runs: int, ways: Mapping[K, Callable[[], T]]) -> dict[K, list[T]]:
    """Each way once per round, in order, for `runs` rounds: {way: [result of each round]}."""
    results: dict[K, list[T]] = {key: [] for key in ways}
    for _ in range(runs):
        for key, way in ways.items():
            results[key].append(way())
    return results
