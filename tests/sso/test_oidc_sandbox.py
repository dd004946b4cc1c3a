"""The sandbox's SSO OIDC service as AWS answers it, through botocore's own sso-oidc client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from ssm_tui.sandbox.world import SSO_START_URL
from tests.sso.conftest import open_in_browser

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def _client(sandbox: Any, service: str) -> Any:
    config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
    return boto3.client(service, "us-east-1", endpoint_url=sandbox.endpoint, config=config)


class Flow:
    """One registered client and one device authorization, polled by hand."""

    def __init__(self, sandbox: Any, scopes: list[str] | None = None) -> None:
        self.oidc = _client(sandbox, "sso-oidc")
        kwargs: dict[str, Any] = {"clientName": "test", "clientType": "public"}
        if scopes:
            kwargs["scopes"] = scopes
        self.registration = self.oidc.register_client(**kwargs)
        self.authorization = self.oidc.start_device_authorization(
            clientId=self.registration["clientId"],
            clientSecret=self.registration["clientSecret"],
            startUrl=SSO_START_URL,
        )

    def poll(self) -> dict[str, Any]:
        return self.oidc.create_token(
            grantType=DEVICE,
            clientId=self.registration["clientId"],
            clientSecret=self.registration["clientSecret"],
            deviceCode=self.authorization["deviceCode"],
        )

    def error_of_poll(self) -> str:
        with pytest.raises(self.oidc.exceptions.ClientError) as caught:
            self.poll()
        return caught.value.response["Error"]["Code"]


@pytest.fixture
def sandbox(expired_sandbox: Any) -> Iterator[Any]:
    yield expired_sandbox
    expired_sandbox.sso_oidc(reset=True)


def test_device_authorization_as_aws_returns_it(sandbox: Any) -> None:
    flow = Flow(sandbox, ["sso:account:access"])
    reply = flow.authorization
    assert reply["verificationUri"] == sandbox.endpoint + "/device"
    assert reply["verificationUriComplete"] == (
        f"{sandbox.endpoint}/device?user_code={reply['userCode']}"
    )
    assert len(reply["userCode"]) == 9 and reply["userCode"][4] == "-"
    assert reply["expiresIn"] == 600 and reply["interval"] == 1
    assert flow.registration["clientSecretExpiresAt"] > time.time() + 89 * 86400


def test_pending_until_approved_then_the_token_works_with_the_portal(sandbox: Any) -> None:
    flow = Flow(sandbox, ["sso:account:access"])
    assert flow.error_of_poll() == "AuthorizationPendingException"
    page = open_in_browser(flow.authorization["verificationUriComplete"])
    assert "Request approved" in page
    time.sleep(1.1)  # the interval the service asked for
    token = flow.poll()
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 3600
    assert token["refreshToken"]
    sso = _client(sandbox, "sso")
    accounts = sso.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert {a["accountId"] for a in accounts} == set(sandbox.accounts.values())
    roles = sso.list_account_roles(accessToken=token["accessToken"], accountId="333333333333")
    assert {r["roleName"] for r in roles["roleList"]} == {"AdministratorAccess", "ReadOnlyAccess"}
    creds = sso.get_role_credentials(
        accessToken=token["accessToken"], accountId="333333333333", roleName="AdministratorAccess"
    )["roleCredentials"]
    assert creds["accessKeyId"] and creds["sessionToken"]
    # a device code is exchanged once
    time.sleep(1.1)
    assert flow.error_of_poll() == "InvalidGrantException"


def test_polling_faster_than_the_interval_slows_down(sandbox: Any) -> None:
    sandbox.sso_oidc(interval=30)  # no two polls of this test can be 30 s apart
    flow = Flow(sandbox)
    assert flow.authorization["interval"] == 30
    assert flow.error_of_poll() == "AuthorizationPendingException"
    assert flow.error_of_poll() == "SlowDownException"
    assert flow.error_of_poll() == "SlowDownException"


def test_code_not_approved_within_expires_in_is_expired(sandbox: Any) -> None:
    sandbox.sso_oidc(device_code_ttl=1)
    flow = Flow(sandbox)
    assert flow.authorization["expiresIn"] == 1
    time.sleep(1.2)
    assert flow.error_of_poll() == "ExpiredTokenException"
    assert "not valid or has expired" in open_in_browser(
        flow.authorization["verificationUriComplete"]
    )
    assert flow.error_of_poll() == "InvalidGrantException"


def test_denied_in_the_browser(sandbox: Any) -> None:
    flow = Flow(sandbox)
    page = open_in_browser(flow.authorization["verificationUriComplete"] + "&action=deny")
    assert "Request denied" in page
    assert flow.error_of_poll() == "AccessDeniedException"


def test_bad_client_scope_start_url_and_grant(sandbox: Any) -> None:
    oidc = _client(sandbox, "sso-oidc")
    errors = oidc.exceptions
    with pytest.raises(errors.InvalidScopeException):
        oidc.register_client(clientName="t", clientType="public", scopes=["s3:everything"])
    with pytest.raises(errors.InvalidClientMetadataException):
        oidc.register_client(clientName="t", clientType="confidential")
    reg = oidc.register_client(clientName="t", clientType="public")
    with pytest.raises(errors.InvalidClientException):
        oidc.start_device_authorization(
            clientId=reg["clientId"], clientSecret="wrong", startUrl=SSO_START_URL
        )
    with pytest.raises(errors.InvalidRequestException):
        oidc.start_device_authorization(
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            startUrl="https://other.awsapps.com/start",
        )
    with pytest.raises(errors.UnsupportedGrantTypeException):
        oidc.create_token(
            grantType="password", clientId=reg["clientId"], clientSecret=reg["clientSecret"]
        )


def test_refresh_token_gives_a_new_token_once(sandbox: Any) -> None:
    flow = Flow(sandbox, ["sso:account:access"])
    open_in_browser(flow.authorization["verificationUriComplete"])
    token = flow.poll()  # the first poll: no interval to respect yet
    refreshed = flow.oidc.create_token(
        grantType="refresh_token",
        clientId=flow.registration["clientId"],
        clientSecret=flow.registration["clientSecret"],
        refreshToken=token["refreshToken"],
    )
    assert refreshed["accessToken"] != token["accessToken"]
    sso = _client(sandbox, "sso")
    assert sso.list_accounts(accessToken=refreshed["accessToken"])["accountList"]
    with pytest.raises(flow.oidc.exceptions.InvalidGrantException):
        flow.oidc.create_token(
            grantType="refresh_token",
            clientId=flow.registration["clientId"],
            clientSecret=flow.registration["clientSecret"],
            refreshToken=token["refreshToken"],
        )


def test_the_seeded_expired_token_is_refused_by_the_portal(sandbox: Any) -> None:
    import json
    from pathlib import Path

    seeded = json.loads(Path(sandbox.info["sso_token_files"][0]).read_text())
    assert seeded["expiresAt"] < time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sso = _client(sandbox, "sso")
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=seeded["accessToken"])


def test_absent_login_writes_no_token(tmp_path: Any) -> None:
    import os

    from ssm_tui.demo import SandboxProcess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(tmp_path / "home")
    with SandboxProcess(
        instances=3, directory=tmp_path / "files", env=env, sso_token="absent"
    ) as sandbox:
        assert sandbox.info["sso_token_files"] == []
        assert not list((tmp_path / "files").rglob("sso-cache/*.json"))
