"""`ssm-tui login PROFILE` as a user runs it: a subprocess, a browser GET, then the aws-cli."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.sso.conftest import SSO_PROFILE, open_in_browser, read_json, token_file


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ssm_tui.cli", "login", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_login_prints_url_and_code_and_the_aws_cli_then_works(expired_env, clean_aws_env) -> None:  # type: ignore[no-untyped-def]
    aws = Path(sys.executable).with_name("aws")
    denied = subprocess.run(
        [str(aws), "sts", "get-caller-identity", "--profile", SSO_PROFILE],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert denied.returncode != 0  # the seeded login has expired

    process = _start(SSO_PROFILE, "--no-browser")
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if "autofill the code" in line:
            break
    complete = process.stdout.readline().strip()
    rest: list[str] = []
    reader = threading.Thread(target=lambda: rest.extend(process.stdout or []))
    reader.start()
    page = open_in_browser(complete)
    assert "Request approved" in page
    assert process.wait(timeout=120) == 0
    reader.join(10)
    text = "\n".join(lines)
    assert "Browser will not be automatically opened." in text
    assert f"{expired_env.endpoint}/device" in lines
    code = lines[lines.index("Then enter the code:") + 2]
    assert complete == f"{expired_env.endpoint}/device?user_code={code}"
    assert "Successfully logged into Start URL: https://acme-sandbox.awsapps.com/start" in "".join(
        rest
    )
    cached = read_json(token_file(clean_aws_env, expired_env))
    assert cached["refreshToken"] and cached["clientId"]

    identity = subprocess.run(
        [str(aws), "sts", "get-caller-identity", "--profile", SSO_PROFILE, "--output", "text",
         "--query", "Arn"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert identity.returncode == 0, identity.stderr
    assert "assumed-role/AWSReservedSSO_AdministratorAccess" in identity.stdout
    assert ":333333333333:" in identity.stdout


def test_login_code_expired_exits_1_with_the_reason(expired_env: Any, clean_aws_env) -> None:  # type: ignore[no-untyped-def]
    expired_env.sso_oidc(device_code_ttl=1)
    before = token_file(clean_aws_env, expired_env).read_bytes()
    process = _start(SSO_PROFILE, "--no-browser")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "Then enter the code:" in out
    assert "error: the SSO login code expired before it was approved" in err
    assert "Traceback" not in err
    assert token_file(clean_aws_env, expired_env).read_bytes() == before


def test_login_of_a_profile_without_sso_is_a_usage_error(expired_env) -> None:  # type: ignore[no-untyped-def]
    process = _start("prod", "--no-browser")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert out == ""
    assert "does not use IAM Identity Center" in err and "Traceback" not in err
    process = _start("nope", "--no-browser")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "unknown profile 'nope'" in err


def test_a_login_against_the_sandbox_leaves_nothing_in_the_cache_after_it(tmp_path: Path) -> None:
    """`ssm-tui --demo`'s case: the sandbox writes into the user's own SSO cache, so what a device
    login against it wrote there (token, client registration) goes when the sandbox stops."""
    from ssm_tui.demo import SandboxProcess

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(home)
    cache = home / ".aws" / "sso" / "cache"
    sandbox = SandboxProcess(
        instances=3, directory=tmp_path / "files", env=env, sso_cache=cache, sso_token="expired"
    )
    with sandbox:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssm_tui.cli", "login", SSO_PROFILE, "--no-browser"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, **sandbox.env},
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            if "autofill the code" in line:
                break
        assert "Request approved" in open_in_browser(process.stdout.readline().strip())
        process.stdout.read()
        assert process.wait(timeout=120) == 0
        assert len(list(cache.glob("*.json"))) == 2  # the token and the registration
    assert list(cache.glob("*.json")) == []
