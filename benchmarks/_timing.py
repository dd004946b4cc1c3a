"""What the benchmark scripts share: a sandbox of their own, wall-clock timing, alternated runs.

Every benchmark prints figures against a baseline measured in the same run; on a shared machine
that is only fair when the ways being compared take turns (A B A B ...), so a burst of load
hits both. `alternate` runs them so; `timed` times one command as a whole process;
`bench_sandbox` starts a sandbox in a scratch folder with none of the caller's AWS settings.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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
    prefix: str, *, folder: str = "sandbox", in_process: bool = False, **options: Any
) -> Iterator[tuple[SandboxProcess, Path, dict[str, str]]]:
    """A started sandbox, its scratch folder, and the environment to run clients with.

    The environment (also applied to this process, for boto3) has none of the caller's AWS_* or
    SSM_TUI_* and a HOME in the scratch folder, so nothing of the user's own setup is read or
    written. With `in_process` (a benchmark that runs the app itself, not as a child) this
    process gets that HOME too, its XDG data and cache folders in the scratch folder, and the
    sandbox's SSO token in that HOME (botocore reads it only from ~/.aws/sso/cache). The scratch
    folder is removed at the end.
    """
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CALLERS)}
    env["HOME"] = str(scratch / "home")
    Path(env["HOME"]).mkdir()
    try:
        sandbox = SandboxProcess(directory=scratch / folder, env=env, **options).start(timeout=60)
        try:
            env.update(sandbox.env)
            if in_process:
                for key in [k for k in os.environ if k.startswith(_CALLERS)]:
                    del os.environ[key]
                env["XDG_DATA_HOME"] = env["XDG_CACHE_HOME"] = str(scratch / "xdg")
                os.environ["HOME"] = env["HOME"]
                os.environ["XDG_DATA_HOME"] = os.environ["XDG_CACHE_HOME"] = env["XDG_DATA_HOME"]
                sandbox.install_sso_token(env["HOME"])
            os.environ.update(sandbox.env)
            yield sandbox, scratch, env
        finally:
            sandbox.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_CALLERS = ("AWS_", "SSM_TUI_")
"""Environment variables of the caller's own setup that no benchmark may read."""


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
