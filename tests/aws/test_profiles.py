"""Profile loading from real config files on disk, read through botocore's own loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssm_tui.aws.clients import resolved_endpoint
from ssm_tui.aws.errors import ConfigError, UnknownProfileError, explain
from ssm_tui.aws.models import Profile, ProfileKind
from ssm_tui.aws.profiles import (
    ENV_PROFILE,
    broken_profile,
    clear_discovered,
    config_problems,
    get_profile,
    load_profiles,
    register_discovered,
)

CONFIG = """\
[default]
region = us-east-1

[profile base]
region = us-east-1
endpoint_url = http://127.0.0.1:9

[profile prod]
role_arn = arn:aws:iam::222222222222:role/SSMOperator
source_profile = base
region = eu-west-1

[profile named]
role_arn = arn:aws:iam::333333333333:role/SSMOperator
credential_source = Environment
role_session_name = alice

[sso-session acme]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1

[profile sso-new]
sso_session = acme
sso_account_id = 444444444444
sso_role_name = AdministratorAccess
region = eu-west-1

[profile sso-legacy]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1
sso_account_id = 555555555555
sso_role_name = ReadOnly

[profile proc]
credential_process = /bin/false
region = us-east-1
services = local

[services local]
ssm =
  endpoint_url = http://127.0.0.1:7777
"""

CREDENTIALS = """\
[base]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret

[creds-only]
aws_access_key_id = AKIAOTHER
aws_secret_access_key = secret
"""


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config = tmp_path / "config"
    creds = tmp_path / "credentials"
    config.write_text(CONFIG)
    creds.write_text(CREDENTIALS)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    return config, creds


def test_profiles_are_classified_like_botocore(aws_files: tuple[Path, Path]) -> None:
    profiles = {p.name: p for p in load_profiles()}
    assert sorted(profiles) == [
        "base", "creds-only", "default", "named", "proc", "prod", "sso-legacy", "sso-new"
    ]  # fmt: skip
    assert profiles["base"].kind is ProfileKind.KEYS
    assert profiles["creds-only"].kind is ProfileKind.KEYS
    assert profiles["prod"].kind is ProfileKind.ASSUME_ROLE
    assert profiles["prod"].account_id == "222222222222"
    assert profiles["prod"].source_profile == "base"
    assert profiles["prod"].region == "eu-west-1"
    assert profiles["prod"].role_session_name is None
    assert profiles["named"].role_session_name == "alice"
    assert profiles["sso-new"].kind is ProfileKind.SSO
    assert profiles["sso-new"].sso_session == "acme"
    assert profiles["sso-new"].account_id == "444444444444"
    assert profiles["sso-legacy"].kind is ProfileKind.SSO
    assert profiles["sso-legacy"].sso_role_name == "ReadOnly"
    assert profiles["proc"].kind is ProfileKind.PROCESS
    assert profiles["default"].region == "us-east-1"


def test_endpoints_follow_profile_services_and_env(
    aws_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolved_endpoint("ssm", "base", "us-east-1") == "http://127.0.0.1:9"
    assert resolved_endpoint("ssm", "proc", "us-east-1") == "http://127.0.0.1:7777"
    assert resolved_endpoint("ec2", "proc", "us-east-1") == "https://ec2.us-east-1.amazonaws.com"
    assert resolved_endpoint("ssm", "prod", "eu-west-1") == "https://ssm.eu-west-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:5555")
    assert resolved_endpoint("ssm", "prod", "eu-west-1") == "http://127.0.0.1:5555"


def test_malformed_line_costs_only_its_profile_and_names_file_and_line(
    aws_files: tuple[Path, Path],
) -> None:
    """botocore rejects the whole file; only the profile holding the bad line pays (issue 13)."""
    config, _ = aws_files
    config.write_text(
        "[profile ok]\nregion = us-east-1\n\n[profile bad]\nregion = x\nnot a key value pair\n"
    )
    names = {p.name for p in load_profiles()}
    assert {"ok", "bad", "base", "creds-only"} <= names  # bad stays listed: its scope says why
    (problem,) = config_problems()
    assert (problem.file, problem.line) == (str(config), 6)
    assert f"{config}, line 6" in str(problem) and "not a key value pair" in str(problem)
    assert broken_profile("bad") == problem and broken_profile("ok") is None
    with pytest.raises(ConfigError) as info:
        resolved_endpoint("ssm", "bad", "us-east-1")
    assert info.value == problem
    assert resolved_endpoint("ssm", "ok", "us-east-1") == "https://ssm.us-east-1.amazonaws.com"


def test_text_before_first_section_is_line_one(aws_files: tuple[Path, Path]) -> None:
    _, creds = aws_files
    creds.write_text("aws_access_key_id = x\n[a]\n")
    assert "a" in {p.name for p in load_profiles()}
    (problem,) = config_problems()
    assert (problem.file, problem.line) == (str(creds), 1)


def test_duplicate_section_is_merged_and_reported_with_its_line(
    aws_files: tuple[Path, Path],
) -> None:
    config, _ = aws_files
    config.write_text("[profile a]\nregion = x\nsource_profile = base\n\n[profile a]\nregion = y\n")
    profiles = {p.name: p for p in load_profiles()}
    assert profiles["a"].region == "y" and profiles["a"].source_profile == "base"
    (problem,) = config_problems()
    assert problem.line == 5 and "appears twice" in str(problem)


def test_unknown_profile_lists_known_ones_and_suggests(aws_files: tuple[Path, Path]) -> None:
    with pytest.raises(UnknownProfileError) as info:
        get_profile("prdo")
    err = info.value
    assert err.suggestion == "prod"
    assert "base" in err.known and "sso-new" in err.known
    assert "known profiles: base, creds-only, default" in err.hint
    row = explain(err, "prdo")
    assert row.code == "ProfileNotFound" and "did you mean 'prod'" in row.hint


def test_environment_profile_when_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing2"))
    assert load_profiles() == []
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    (profile,) = load_profiles()
    assert profile.name == ENV_PROFILE
    assert profile.kind is ProfileKind.ENVIRONMENT
    assert profile.region == "eu-west-1"


def test_discovered_profiles_are_known_without_a_file(aws_files: tuple[Path, Path]) -> None:
    found = Profile(
        "acme-prod/Admin", ProfileKind.SSO, "us-east-1", "222222222222", discovered=True
    )
    register_discovered(
        found,
        {"sso_session": "acme", "sso_account_id": "222222222222", "sso_role_name": "Admin",
         "region": "us-east-1", "endpoint_url": "http://127.0.0.1:8"},
    )  # fmt: skip
    try:
        assert get_profile("acme-prod/Admin") == found
        assert "acme-prod/Admin" not in [p.name for p in load_profiles()]
        assert "acme-prod/Admin" in [p.name for p in load_profiles(include_discovered=True)]
        assert resolved_endpoint("ssm", "acme-prod/Admin", "us-east-1") == "http://127.0.0.1:8"
    finally:
        clear_discovered()
