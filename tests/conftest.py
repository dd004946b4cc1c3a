"""Fixtures every test shares.

`clean_aws_env` (autouse) strips AWS_* variables and points HOME at a temporary folder, so a real
user's credentials never reach a test (httpx's `clean_environ` pattern). Tests that need AWS use the
sandbox fixtures, which run the real sandbox process on loopback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ssm_tui.demo import SandboxProcess

if "botocore" in sys.modules:  # pragma: no cover - a plugin or conftest imported it first
    raise RuntimeError("botocore was imported before tests/conftest.py could set HOME")
RUN_HOME = Path(tempfile.mkdtemp(prefix="ssm-tui-tests-home-"))
"""This test process's HOME while botocore is imported: botocore takes its SSO token folder
(~/.aws/sso/cache) from HOME once, at import, so `sandbox_env` puts the sandbox's token there
(the supported way, like `ssm-tui --demo`, which sets HOME before importing it). Each xdist
worker is its own process with its own folder."""
os.environ["HOME"] = str(RUN_HOME)


@pytest.fixture(autouse=True)
def clean_aws_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("AWS_", "SSM_TUI_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    yield home


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One real sandbox process for the whole run (default seed, ~40 instances).

    Started with an explicit environment (no AWS_*, its own HOME) so it never depends on the
    function-scoped `clean_aws_env`; a test that flips faults must `reset_faults()` after.
    """
    from ssm_tui.demo import SandboxProcess

    base = tmp_path_factory.mktemp("sandbox")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(base / "home")
    process = SandboxProcess(directory=base / "files", env=env)
    process.start(timeout=60)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sandbox_env(
    sandbox: SandboxProcess, clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxProcess:
    """Point this test's environment (and in-process botocore) at the running sandbox.

    Sets the env file's variables, and puts the SSO token where botocore looks for it: under this
    test's HOME (for the processes a test starts) and under `RUN_HOME` (for in-process botocore,
    which fixed its SSO cache folder when it was imported).
    """
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    sandbox.install_sso_token(clean_aws_env)
    sandbox.install_sso_token(RUN_HOME)
    return sandbox
