"""Benchmark: `audit search` over 1,000 transcripts against a sequential boto3 loop of reads.

Run: `.venv/bin/python benchmarks/audit.py [--transcripts 1000] [--kb 64] [--latency 20]`

One sandbox (with `latency_ms` added to every API call, as a real region's round trip), one
account and region. The benchmark puts N transcripts of K KB each into the account's S3 bucket
and as many CloudWatch streams into its log group (a marker line in 1 of every 100), then in the
same run:

- S3, ssm-tui: `ssm_tui.aws.audit.search(..., sources=["s3"])`: ListObjectsV2, then ranged GETs
  of 1 MiB, 16 objects at once, lines matched as they arrive (bounded memory);
- S3, sequential: a boto3 loop doing the same reads one after the other (list, get_object each,
  split lines, match): what a script does;
- CloudWatch, ssm-tui: FilterLogEvents with the marker as a quoted filter pattern (the service
  selects the events); and the same without a pattern (every event travels, matched here, which
  is what a regex costs);
- CloudWatch Logs Insights: StartQuery + GetQueryResults polling, when the sandbox's moto
  answers it (reported as such when it does not).

Figures: seconds, MB/s, seconds per GB (scaled linearly from the run; 10 GB is a large team's
month), the requests each side made, and the ratio sequential / ssm-tui. Both sides must find the
same hits (a VERDICT is INVALID otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ssm_tui.demo import SandboxProcess  # noqa: E402

PROFILE, REGION, ACCOUNT = "sandbox", "us-east-1", "111111111111"
BUCKET = f"acme-ssm-sessions-{ACCOUNT}-{REGION}"
GROUP = "/acme/ssm/sessions"
MARKER = "sudo cat /etc/shadow  # AUDIT-BENCH-MARKER"


def _body(index: int, size: int) -> bytes:
    line = f"ssm-user@ip-10-0-0-{index % 250}$ tail -f /var/log/app.log  # {index:06d} ".encode()
    lines = [line + b"x" * (80 - len(line) % 80) + b"\r\n"]
    body = b"".join(lines) * max(1, size // len(lines[0]))
    if index % 100 == 0:
        half = len(body) // 2
        body = body[:half] + MARKER.encode() + b"\r\n" + body[half:]
    return body


def put_fixtures(count: int, size: int) -> tuple[int, int]:
    """N objects and N streams; returns (bytes in S3, bytes in CloudWatch)."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    session = boto3.Session(profile_name=PROFILE, region_name=REGION)
    s3, logs = session.client("s3"), session.client("logs")
    now = int(time.time() * 1000)

    def one(i: int) -> int:
        sid = f"bench-{i:05d}-0123456789abcdef"
        body = _body(i, size)
        s3.put_object(Bucket=BUCKET, Key=f"session-logs/{sid}.log", Body=body)
        logs.create_log_stream(logGroupName=GROUP, logStreamName=sid)
        text = body.decode()
        events = [
            {"timestamp": now + k, "message": text[start : start + 200_000]}
            for k, start in enumerate(range(0, len(text), 200_000))
        ]
        logs.put_log_events(logGroupName=GROUP, logStreamName=sid, logEvents=events)
        return len(body)

    with ThreadPoolExecutor(8) as pool:
        total = sum(pool.map(one, range(count)))
    return total, total


def sequential_s3() -> tuple[float, int, int]:
    """The boto3 loop: (seconds, hits, requests)."""
    import boto3

    s3 = boto3.Session(profile_name=PROFILE, region_name=REGION).client("s3")
    started = time.perf_counter()
    hits = requests = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="session-logs/"):
        requests += 1
        for item in page.get("Contents", []):
            if not item["Key"].startswith("session-logs/bench-"):
                continue
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            requests += 1
            for line in body.decode("utf-8", "replace").split("\n"):
                if "AUDIT-BENCH-MARKER" in line:
                    hits += 1
    return time.perf_counter() - started, hits, requests


async def ours(sources: list[str], regex: bool = False) -> tuple[float, int, object]:
    from ssm_tui.aws.audit import Query, search
    from ssm_tui.aws.clients import forget_sessions
    from ssm_tui.aws.models import Scope

    forget_sessions()
    query = Query(pattern=r"AUDIT-BENCH-MAR[K]ER" if regex else "AUDIT-BENCH-MARKER", regex=regex)
    started = time.perf_counter()
    result = await search([Scope(PROFILE, REGION)], query, sources=sources)
    elapsed = time.perf_counter() - started
    hits = sum(1 for h in result.hits if h.session_id.startswith("bench-"))
    if result.errors:
        print("  errors:", result.errors)
    return elapsed, hits, result.stats


def insights() -> str:
    import boto3

    logs = boto3.Session(profile_name=PROFILE, region_name=REGION).client("logs")
    started = time.perf_counter()
    try:
        query = logs.start_query(
            logGroupName=GROUP,
            startTime=int(time.time()) - 3600,
            endTime=int(time.time()) + 3600,
            queryString="fields @timestamp, @logStream | filter @message like /AUDIT-BENCH-MARKER/",
        )["queryId"]
        while True:
            reply = logs.get_query_results(queryId=query)
            if reply["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
                break
            time.sleep(0.2)
    except Exception as error:  # noqa: BLE001 - moto's Insights is partial
        return f"not answered by the sandbox ({type(error).__name__}: {error})"[:160]
    seconds = time.perf_counter() - started
    rows = len(reply.get("results", []))
    return (
        f"{seconds:.2f} s, status {reply['status']}, {rows} rows "
        "(moto ignores the `filter ... like` clause: rows are not matches)"
    )


def per_gb(seconds: float, size: int) -> str:
    return f"{seconds / (size / 1e9):8.1f} s/GB  ({size / 1e6 / seconds:6.1f} MB/s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=64, help="size of each transcript")
    parser.add_argument("--latency", type=int, default=20, help="ms added to each API call")
    args = parser.parse_args()
    sandbox = SandboxProcess(latency_ms=0)
    sandbox.start(timeout=120)
    try:
        os.environ.update(sandbox.env)
        print(f"putting {args.transcripts} transcripts of {args.kb} KB (S3 and CloudWatch)...")
        s3_bytes, _ = put_fixtures(args.transcripts, args.kb * 1024)
        expected = len(range(0, args.transcripts, 100))
        sandbox.set_faults(latency_ms=args.latency)
        print(
            f"{s3_bytes / 1e6:.1f} MB per destination, {expected} marker lines, "
            f"latency {args.latency} ms per call\n"
        )
        seq, seq_hits, seq_requests = sequential_s3()
        mine, my_hits, stats = asyncio.run(ours(["s3"]))
        print(
            f"S3   sequential boto3 loop   {seq:7.2f} s  {per_gb(seq, s3_bytes)}  "
            f"{seq_requests} requests, {seq_hits} hits"
        )
        print(
            f"S3   ssm-tui audit search    {mine:7.2f} s  {per_gb(mine, s3_bytes)}  "
            f"{stats.requests} requests, {my_hits} hits"
        )  # type: ignore[attr-defined]
        cw, cw_hits, cw_stats = asyncio.run(ours(["cloudwatch"]))
        cw_all, cw_all_hits, cw_all_stats = asyncio.run(ours(["cloudwatch"], regex=True))
        print(
            f"CW   FilterLogEvents pattern {cw:7.2f} s  {per_gb(cw, s3_bytes)}  "
            f"{cw_stats.requests} requests, {cw_stats.cloudwatch_events} events, "  # type: ignore[attr-defined]
            f"{cw_hits} hits"
        )
        print(
            f"CW   FilterLogEvents, regex  {cw_all:7.2f} s  {per_gb(cw_all, s3_bytes)}  "
            f"{cw_all_stats.requests} requests, {cw_all_stats.cloudwatch_events} events, "  # type: ignore[attr-defined]
            f"{cw_all_hits} hits"
        )
        print(f"CW   Logs Insights           {insights()}")
        valid = seq_hits == my_hits == cw_hits == cw_all_hits == expected
        ratio = seq / mine if mine else float("inf")
        print(f"\nratio sequential / ssm-tui (S3): {ratio:.1f}x")
        print(
            f"VERDICT {'VALID' if valid else 'INVALID'}: same hits on every path "
            f"({seq_hits}, {my_hits}, {cw_hits}, {cw_all_hits}; expected {expected})"
        )
        return 0 if valid else 1
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
