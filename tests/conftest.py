"""Fixtures every test shares.

`clean_aws_env` (autouse) strips AWS_* variables and points HOME at a temporary folder, so a real
user's credentials never reach a test (httpx's `clean_environ` pattern). Tests that need AWS use the
sandbox fixtures, which run the real sandbox process on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ssm_tui.demo import SandboxProcess


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

    Sets the env file's variables, and puts the SSO token where botocore looks for it under this
    test's HOME. botocore fixes its SSO cache folder when it is imported, so that class attribute
    is pointed at the same folder for in-process clients too.
    """
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    cache_dir = sandbox.install_sso_token(clean_aws_env).parent
    import botocore.credentials
    import botocore.tokens

    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache_dir))
    return sandbox
