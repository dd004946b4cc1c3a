"""`ssm-tui audit search` on the sandbox: real sessions, real CloudWatch Logs and S3 transcripts."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ssm_tui.aws.audit import Query, read_ranged, search
from ssm_tui.aws.clients import client
from ssm_tui.aws.models import Scope
from tests.audit.conftest import ACCOUNTS, REGIONS, boto3_client, instance_name, ssm_tui
from tests.history.conftest import run_session

EVIL = "\x1b]0;evil\x07\x1b[31m[red]markup[/red]\x1b[0m"


def _bucket(profile: str) -> str:
    return f"acme-ssm-sessions-{ACCOUNTS[profile]}-{REGIONS[profile]}"


async def test_a_marker_typed_in_one_account_is_found_from_all_profiles(aws: Any) -> None:
    marker = uuid.uuid4().hex[:12]
    # the shell computes 42: the typed (echoed) command line does not contain the marker
    ran = await run_session(
        [f"echo AUD-$((6*7))-{marker}\r".encode(), b"echo after-the-marker\r"],
        profile="dev",
        region="eu-west-1",
    )
    done = ssm_tui("audit", "search", f"AUD-42-{marker}", "--json", "--since", "1h")
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(hits) == 1, hits  # once, though both CloudWatch and S3 hold the transcript
    hit = hits[0]
    assert hit["SessionId"] == ran.session_id and hit["Target"] == ran.target
    assert hit["Owner"] == "alice" and hit["OwnerHint"] == ""
    assert hit["OwnerArn"] == "arn:aws:sts::333333333333:assumed-role/SSMOperator/alice"
    assert hit["InstanceName"] == instance_name("dev", ran.target) != ""
    assert (hit["AccountId"], hit["Region"]) == ("333333333333", "eu-west-1")
    assert hit["Line"].rstrip("\r") == f"AUD-42-{marker}"
    assert any("after-the-marker" in line for line in hit["After"])
    assert hit["Source"] == "cloudwatch" and hit["Time"]
    table = ssm_tui("audit", "search", f"AUD-42-{marker}", "--since", "1h")
    assert table.returncode == 0, table.stderr
    assert ran.session_id.encode() in table.stdout and b"alice" in table.stdout
    assert f"> AUD-42-{marker}".encode() in table.stdout
    other = ssm_tui("audit", "search", f"AUD-42-{marker}", "--json", "--owner", "bob")
    assert other.returncode == 0 and other.stdout == b""


async def test_s3_only_transcripts_are_read_in_ranges_and_shown_literally(aws: Any) -> None:
    marker = uuid.uuid4().hex[:10]
    sid = f"botocore-session-1700000000-{marker}"
    body = "".join(f"line {i} filler text\r\n" for i in range(3000)) + f"{EVIL} S3-{marker}\r\n"
    boto3_client("s3", "prod").put_object(
        Bucket=_bucket("prod"), Key=f"session-logs/{sid}.log", Body=body.encode()
    )
    done = ssm_tui("audit", "search", f"S3-{marker}", "-p", "prod", "--json")
    assert done.returncode == 0, done.stderr
    (hit,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert hit["Source"] == "s3" and hit["SessionId"] == sid
    assert hit["Line"] == f"{EVIL} S3-{marker}"  # raw, as stored (JSON escapes it)
    assert hit["Before"][-1] == "line 2999 filler text" and hit["LineNumber"] == 3000
    assert hit["Owner"].startswith("botocore-session-") and "another tool" in hit["OwnerHint"]
    table = ssm_tui("audit", "search", f"S3-{marker}", "-p", "prod")
    assert b"\x1b" not in table.stdout and b"\x07" not in table.stdout
    assert b"[red]markup[/red]" in table.stdout  # markup shown, not applied
    assert b"another tool" in table.stdout


async def test_ranged_reads_give_back_every_line_across_chunk_edges(aws: Any) -> None:
    lines = [f"{i:04d} " + "é" * (i % 13) for i in range(500)]
    body = "\n".join(lines).encode()
    key = f"session-logs/ranged-{uuid.uuid4().hex[:8]}.log"
    boto3_client("s3", "sandbox").put_object(Bucket=_bucket("sandbox"), Key=key, Body=body)
    seen: list[str] = []
    async with client("s3", "sandbox", "us-east-1") as s3:
        await read_ranged(s3, _bucket("sandbox"), key, len(body), seen.append, chunk=97)
    assert seen == lines  # multi-byte characters and lines split over 97-byte ranges


async def test_regex_search_and_one_failing_profile(aws: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    await run_session([f"echo 'sudo -i # {marker}'\r".encode()], profile="sandbox")
    aws.set_faults(broken_profile="dev")
    try:
        result = await search(
            [Scope("sandbox", "us-east-1"), Scope("dev", "eu-west-1")],
            Query(pattern=rf"^sudo\s+-i # {marker}$", regex=True),
        )
    finally:
        aws.reset_faults()
    assert [e.profile for e in result.errors] == ["dev"]
    assert [h.line.rstrip("\r") for h in result.hits] == [f"sudo -i # {marker}"]
    bad = ssm_tui("audit", "search", "(", "--regex")
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr
    since = ssm_tui("audit", "search", "x", "--since", "yesterday-ish")
    assert since.returncode == 2 and b"not a time" in since.stderr
