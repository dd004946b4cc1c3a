"""A sandbox whose seeded SSO login has expired, and helpers to act as the person at the browser.

Its own process (`--sso-token expired`), so the `sso-dev` profile fails as it does for a user
whose `aws sso login` ran out; each test starts from that expired token again (a login in an
earlier test must not make the next one pass).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssm_tui.demo import SandboxProcess

SSO_PROFILE = "sso-dev"


@pytest.fixture(scope="session")
def expired_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    base = tmp_path_factory.mktemp("sso-sandbox")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(base / "home")
    process = SandboxProcess(directory=base / "files", env=env, sso_token="expired")
    process.start(timeout=60)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def expired_env(
    expired_sandbox: SandboxProcess, clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxProcess]:
    """This test's environment on the expired sandbox, its SSO cache holding the expired token
    (in the test's HOME for subprocesses, in RUN_HOME for in-process botocore)."""
    from ssm_tui.aws import accounts, clients, profiles

    for key, value in expired_sandbox.env.items():
        monkeypatch.setenv(key, value)
    expired_sandbox.install_sso_token(clean_aws_env)
    expired_sandbox.install_sso_token(botocore_home())
    clients.forget_sessions()
    accounts.forget()
    profiles.clear_discovered()
    yield expired_sandbox
    expired_sandbox.sso_oidc(reset=True)
    expired_sandbox.install_sso_token(botocore_home())  # undo this test's login for the next one
    clients.forget_sessions()


def botocore_home() -> Path:
    """The HOME whose ~/.aws/sso/cache in-process botocore reads (fixed when it first imported
    `botocore.tokens`: `tests/conftest.RUN_HOME`, or the HOME of the test that imported it)."""
    from ssm_tui.aws.accounts import sso_cache_dir

    return Path(sso_cache_dir()).parents[2]


def token_file(home: Path, sandbox: SandboxProcess) -> Path:
    """The seeded sso-session's token file under `home` (the one the sandbox wrote)."""
    name = Path(sandbox.info["sso_token_files"][0]).name
    return home / ".aws" / "sso" / "cache" / name


def open_in_browser(url: str) -> str:
    """What a person's browser does with the verification URL: GET it (no proxy), read the page."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        return error.read().decode()


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
