"""The sandbox never harms the user's own setup (issue 12 §4): their AWS_* variables, aws-cli's
credential cache across restarts, their SSO token cache."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from ssm_tui.demo import SandboxProcess

CALLER = {
    "AWS_PROFILE": "work",  # a profile only the user's own config has
    "AWS_DEFAULT_PROFILE": "work",
    "AWS_REGION": "ap-south-1",
    "AWS_ACCESS_KEY_ID": "AKIAUSERSOWNKEY00000",
    "AWS_SECRET_ACCESS_KEY": "not-the-sandbox-secret",
}


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(home)
    return env


def _aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    aws = str(Path(sys.executable).parent / "aws")
    return subprocess.run(
        [aws, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.slow
def test_the_sandbox_ignores_the_callers_aws_variables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**_base_env(home), **CALLER}
    with SandboxProcess(directory=tmp_path / "files", env=env) as sandbox:
        assert "Traceback" not in sandbox.output
        client_env = {**_base_env(home), **sandbox.env}
        result = _aws(client_env, "sts", "get-caller-identity", "--profile", "prod")
        assert result.returncode == 0, result.stderr
        assert ":assumed-role/" in json.loads(result.stdout)["Arn"]


@pytest.mark.slow
def test_the_demo_ignores_the_callers_aws_variables(tmp_path: Path) -> None:
    env = {**_base_env(tmp_path / "home"), **CALLER}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ssm_tui.cli", "--demo"],
        env=env,
        dimensions=(40, 140),
        timeout=60,
        encoding="utf-8",
        codec_errors="replace",
    )
    try:
        index = child.expect(["up to date", "Traceback", "ProfileNotFound", pexpect.EOF])
        assert index == 0, child.before
        child.send("\x11")  # ctrl+q
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


@pytest.mark.slow
def test_assumed_role_keys_cached_by_aws_cli_survive_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cache = home / ".aws" / "cli" / "cache"
    with SandboxProcess(seed=7, directory=tmp_path / "a", env=_base_env(home)) as first:
        before = _aws(
            {**_base_env(home), **first.env}, "sts", "get-caller-identity", "--profile", "prod"
        )
        assert before.returncode == 0, before.stderr
    (cached,) = cache.glob("*.json")
    key = json.loads(cached.read_text())["Credentials"]["AccessKeyId"]
    with SandboxProcess(seed=7, directory=tmp_path / "b", env=_base_env(home)) as second:
        after = _aws(
            {**_base_env(home), **second.env}, "sts", "get-caller-identity", "--profile", "prod"
        )
    assert after.returncode == 0, after.stderr  # was InvalidClientTokenId
    assert json.loads(after.stdout)["Arn"] == json.loads(before.stdout)["Arn"]
    assert json.loads(cached.read_text())["Credentials"]["AccessKeyId"] == key  # the cached key


@pytest.mark.slow
def test_a_key_from_another_seed_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with SandboxProcess(seed=7, directory=tmp_path / "a", env=_base_env(home)) as first:
        ok = _aws(
            {**_base_env(home), **first.env}, "sts", "get-caller-identity", "--profile", "prod"
        )
        assert ok.returncode == 0, ok.stderr
    with SandboxProcess(seed=8, directory=tmp_path / "b", env=_base_env(home)) as other:
        refused = _aws(
            {**_base_env(home), **other.env}, "sts", "get-caller-identity", "--profile", "prod"
        )
    assert refused.returncode != 0
    assert "InvalidClientTokenId" in refused.stderr


def test_sso_token_under_an_unused_name_and_removed_on_exit(tmp_path: Path) -> None:
    sso_cache = tmp_path / "home" / ".aws" / "sso" / "cache"
    sso_cache.mkdir(parents=True)
    real = sso_cache / (hashlib.sha1(b"acme").hexdigest() + ".json")  # a real `acme` session
    real_text = json.dumps({"startUrl": "https://acme.awsapps.com/start", "accessToken": "real"})
    real.write_text(real_text)
    sandbox = SandboxProcess(
        directory=tmp_path / "files", env=_base_env(tmp_path / "home"), sso_cache=sso_cache
    ).start()
    try:
        config = Path(sandbox.env["AWS_CONFIG_FILE"]).read_text()
        match = re.search(r"^\[sso-session (\S+)\]$", config, re.MULTILINE)
        assert match is not None and match.group(1) != "acme"
        ours = sso_cache / (hashlib.sha1(match.group(1).encode()).hexdigest() + ".json")
        assert ours.exists()
        assert real.read_text() == real_text
    finally:
        sandbox.stop()
    assert not ours.exists()  # removed when the sandbox exits
    assert real.read_text() == real_text
