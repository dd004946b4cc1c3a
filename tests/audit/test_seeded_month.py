"""`ssm-tui sandbox --audit-history`: a month of past sessions to search, on a sandbox of its own
(the shared one stays without them: other tests read its history)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ssm_tui.demo import SandboxProcess
from tests.audit.conftest import ssm_tui


class _SeededSandbox(SandboxProcess):
    def command(self) -> list[str]:
        return [*super().command(), "--audit-history", "30"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    base = tmp_path_factory.mktemp("seeded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(base / "home")
    process = _SeededSandbox(directory=base / "files", env=env)
    process.start(timeout=90)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def seeded_env(seeded: SandboxProcess, clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in seeded.env.items():
        monkeypatch.setenv(key, value)
    seeded.install_sso_token(clean_aws_env)
    return seeded


def test_a_month_of_sudo_by_several_people_in_three_accounts(seeded_env: Any) -> None:
    done = ssm_tui("audit", "search", "sudo", "--since", "31d", "--json")
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    assert {h["AccountId"] for h in hits} == {"111111111111", "222222222222", "333333333333"}
    assert len({h["Owner"] for h in hits}) >= 3
    bad = [h for h in hits if "sudo" not in h["Line"] or not h["InstanceName"]]
    assert not bad, bad[0]
    oldest = min(datetime.fromisoformat(h["Time"]) for h in hits)
    assert oldest < datetime.now(UTC) - timedelta(days=14)  # older than PutLogEvents takes
    week = ssm_tui("audit", "search", "sudo", "--since", "7d", "--json")
    recent = [json.loads(line) for line in week.stdout.splitlines()]
    assert len(recent) < len(hits)
    floor = datetime.now(UTC) - timedelta(days=7, minutes=5)
    assert all(datetime.fromisoformat(h["Time"]) >= floor for h in recent)
    bob = ssm_tui("audit", "search", "sudo", "--since", "31d", "--owner", "bob", "--json")
    assert {json.loads(line)["Owner"] for line in bob.stdout.splitlines()} <= {"bob"}


def test_seeded_sessions_are_in_history_and_cloudtrail(seeded_env: Any) -> None:
    import boto3

    history = ssm_tui("history", "--json", "--no-local")
    rows = [json.loads(line) for line in history.stdout.splitlines()]
    owners = {row["Owner"].rsplit("/", 1)[-1] for row in rows}
    assert len(owners) >= 3 and any(o.startswith("botocore-session-") for o in owners)
    prod = {
        row["Owner"].rsplit("/", 1)[-1]
        for row in rows
        if (row["AccountId"], row["Region"]) == ("222222222222", "us-east-1")
    }
    trail = boto3.Session(profile_name="prod", region_name="us-east-1").client("cloudtrail")
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartSession"}]
    )
    events = [e for page in pages for e in page["Events"]]
    assert prod and {e["Username"] for e in events} == prod
    assert any(json.loads(e["CloudTrailEvent"])["requestParameters"].get("reason") for e in events)
