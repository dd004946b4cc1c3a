"""The files a real user has: ~/.aws/config, ~/.aws/credentials, and an env file pointing at us.

The config has no endpoint in it (as a real user's would not); the env file adds
`AWS_ENDPOINT_URL`, which boto3, aiobotocore and the aws-cli all honour, so any AWS client works
against the sandbox unchanged after `set -a; . sandbox.env; set +a`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ssm_tui.sandbox.seed import Credentials
from ssm_tui.sandbox.world import PROFILES, SSO_REGION, SSO_SESSION, SSO_START_URL

CONFIG_NAME = "config"
CREDENTIALS_NAME = "credentials"
ENV_NAME = "sandbox.env"


def config_text() -> str:
    lines: list[str] = [
        "# AWS config written by the ssm-tui sandbox: one login account (IAM user alice),",
        "# switch-role profiles into prod and dev, and an IAM Identity Center profile.",
        "",
    ]
    base = PROFILES[0].name
    for profile in PROFILES:
        lines.append(f"[profile {profile.name}]")
        if profile.role_arn:
            lines.append(f"role_arn = {profile.role_arn}")
            lines.append(f"source_profile = {base}")
            if profile.role_session_name:
                lines.append(f"role_session_name = {profile.role_session_name}")
        if profile.sso_account_id:
            lines.append(f"sso_session = {SSO_SESSION}")
            lines.append(f"sso_account_id = {profile.sso_account_id}")
            lines.append(f"sso_role_name = {profile.sso_role_name}")
        lines.append(f"region = {profile.region}")
        lines.append("output = json")
        lines.append("")
    lines += [
        f"[sso-session {SSO_SESSION}]",
        f"sso_start_url = {SSO_START_URL}",
        f"sso_region = {SSO_REGION}",
        "sso_registration_scopes = sso:account:access",
        "",
    ]
    return "\n".join(lines)


def credentials_text(credentials: Credentials) -> str:
    return (
        f"[{PROFILES[0].name}]\n"
        f"aws_access_key_id = {credentials.access_key_id}\n"
        f"aws_secret_access_key = {credentials.secret_access_key}\n"
    )


def env_vars(directory: Path, endpoint: str) -> dict[str, str]:
    return {
        "AWS_CONFIG_FILE": str(directory / CONFIG_NAME),
        "AWS_SHARED_CREDENTIALS_FILE": str(directory / CREDENTIALS_NAME),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PROFILE": PROFILES[0].name,
    }


def env_text(variables: dict[str, str]) -> str:
    lines = [
        "# ssm-tui sandbox environment: `set -a; . THIS_FILE; set +a` (sh) or any KEY=VALUE reader",
    ]
    lines += [f"{key}={shlex.quote(value)}" for key, value in variables.items()]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_files(
    directory: Path, env_file: Path, endpoint: str, credentials: Credentials
) -> dict[str, str]:
    """Write config, credentials and env file; return the env file's variables."""
    _write_private(directory / CONFIG_NAME, config_text())
    _write_private(directory / CREDENTIALS_NAME, credentials_text(credentials))
    variables = env_vars(directory, endpoint)
    _write_private(env_file, env_text(variables))
    return variables
