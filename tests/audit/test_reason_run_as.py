"""A reason on connect (required per profile) and the Run As user, through the sandbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssm_tui.aws.audit import RunAs, parse_run_as, run_as
from ssm_tui.aws.clients import forget_sessions
from tests.audit.conftest import boto3_client, ssm_tui
from tests.history.conftest import linux_target

SHELL = "SSM-SessionManagerRunShell"


@pytest.fixture
def prod_needs_reason(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = tmp_path / "config.toml"
    settings.write_text("[profiles.prod]\nrequire_reason = true\n")
    monkeypatch.setenv("SSM_TUI_CONFIG", str(settings))
    return settings


async def test_a_required_reason_is_asked_for_then_shown_everywhere(
    prod_needs_reason: Path,
) -> None:
    target = await linux_target("prod")
    marker = uuid.uuid4().hex[:10]
    command = f"echo R-$((1+1))-{marker}"
    refused = ssm_tui("connect", target, "--profile", "prod", "--command", command)
    assert refused.returncode == 2 and b"requires a reason" in refused.stderr
    assert b"--reason" in refused.stderr and b"Traceback" not in refused.stderr
    trail = boto3_client("cloudtrail", "prod").lookup_events()["Events"]
    assert marker not in json.dumps(trail)  # no session was started
    reason = f"CHG-{marker} rotate logs"
    done = ssm_tui("connect", target, "--profile", "prod", "--command", command, "--reason", reason)
    assert done.returncode == 0, done.stderr
    history = ssm_tui("history", "-p", "prod", "--target", target, "--json", "--no-local")
    rows = [json.loads(line) for line in history.stdout.splitlines()]
    assert any(row["Reason"] == reason for row in rows)
    found = ssm_tui("audit", "search", f"R-2-{marker}", "-p", "prod", "--json")
    (hit,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert hit["Reason"] == reason and hit["Owner"] == "alice"
    too_long = ssm_tui("connect", target, "--profile", "prod", "--reason", "x" * 257)
    assert too_long.returncode == 2 and b"at most 256" in too_long.stderr


@pytest.fixture
def dev_runs_as(aws: Any) -> Iterator[Any]:
    """dev's Session Manager preferences with Run As on (put back as they were afterwards)."""
    ssm = boto3_client("ssm", "dev")
    original = ssm.get_document(Name=SHELL)
    content = json.loads(original["Content"])
    content["inputs"].update({"runAsEnabled": True, "runAsDefaultUser": "ops-user"})
    updated = ssm.update_document(
        Name=SHELL, Content=json.dumps(content), DocumentVersion="$LATEST"
    )["DocumentDescription"]["DocumentVersion"]
    ssm.update_document_default_version(Name=SHELL, DocumentVersion=updated)
    forget_sessions()
    try:
        yield ssm
    finally:
        ssm.update_document_default_version(Name=SHELL, DocumentVersion=original["DocumentVersion"])
        boto3_client("iam", "dev").untag_role(RoleName="SSMOperator", TagKeys=["SSMSessionRunAs"])


async def test_run_as_user_from_preferences_then_the_principal_tag(dev_runs_as: Any) -> None:
    assert await run_as("dev", "eu-west-1") == RunAs(True, "ops-user", "preferences")
    target = await linux_target("dev", "eu-west-1")
    done = ssm_tui("connect", target, "--profile", "dev", "--command", "true")
    assert done.returncode == 0, done.stderr
    assert b"runs as: ops-user (runAsDefaultUser)" in done.stderr
    boto3_client("iam", "dev").tag_role(
        RoleName="SSMOperator", Tags=[{"Key": "SSMSessionRunAs", "Value": "deploy"}]
    )
    assert await run_as("dev", "eu-west-1") == RunAs(True, "deploy", "tag")
    # the other accounts keep Run As off: sessions are ssm-user there
    assert await run_as("sandbox", "us-east-1") == RunAs(False, "ssm-user", "default")


def test_run_as_parsing_of_odd_documents() -> None:
    assert parse_run_as("not json").source == "unknown"
    assert parse_run_as('{"inputs": {"runAsEnabled": "true", "runAsDefaultUser": "a"}}').user == "a"
    assert parse_run_as('{"inputs": []}') == RunAs(False, "ssm-user", "default")
