"""`explain`: every botocore failure becomes a message plus the exact next step."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore import exceptions as bce

from ssm_tui.aws.errors import ConfigError, CredentialsError, Throttled, explain, raise_for


def _client_error(code: str, op: str = "DescribeInstanceInformation") -> bce.ClientError:
    return bce.ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, op)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text(
        "[profile keys]\nregion = us-east-1\n"
        "[profile sso]\nsso_session = s\nsso_account_id = 1\nsso_role_name = r\n"
        "[sso-session s]\nsso_start_url = https://x\nsso_region = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))


def test_expired_token_hint_depends_on_profile_kind(config: None) -> None:
    sso = explain(_client_error("ExpiredTokenException"), "sso", "us-east-1")
    assert sso.hint == "run: aws sso login --profile sso"
    assert sso.code == "ExpiredTokenException" and sso.region == "us-east-1"
    keys = explain(_client_error("ExpiredToken"), "keys")
    assert "aws configure --profile keys" in keys.hint


def test_throttling_denied_and_network(config: None) -> None:
    throttled = explain(_client_error("ThrottlingException"), "keys")
    assert "throttled" in throttled.message
    assert isinstance(raise_for(_client_error("ThrottlingException"), "keys"), Throttled)
    denied = explain(_client_error("AccessDeniedException", "StartSession"), "keys")
    assert "access denied on StartSession" in denied.message
    assert "StartSession" in denied.hint
    offline = explain(bce.EndpointConnectionError(endpoint_url="https://ssm.x"), "keys")
    assert offline.code == "NetworkError" and "network" in offline.hint


def test_sso_token_errors_and_no_credentials(config: None) -> None:
    err = explain(bce.TokenRetrievalError(provider="sso", error_msg="expired"), "sso")
    assert err.hint == "run: aws sso login --profile sso"
    assert isinstance(
        raise_for(bce.SSOTokenLoadError(error_msg="no token"), "sso"), CredentialsError
    )
    none = explain(bce.NoCredentialsError(), "keys")
    assert none.code == "NoCredentials" and "aws configure --profile keys" in none.hint


def test_exception_groups_and_own_errors_pass_through() -> None:
    own = ConfigError("/x/config", 3, "bad line")
    assert explain(ExceptionGroup("g", [own]), "p").message == "/x/config, line 3: bad line"
    assert explain(RuntimeError("boom"), None).profile == "(default)"
