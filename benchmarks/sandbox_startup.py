"""Sandbox start-up and large-fleet page times, against plain `python -m moto.server`.

Run: `.venv/bin/python benchmarks/sandbox_startup.py [--runs N]`. Prints medians and ratios:
- start-up: spawn -> first answered call (moto: GetCallerIdentity; sandbox: ready line, then
  DescribeInstanceInformation), default fleet and `--instances 10000`;
- one DescribeInstanceInformation page (50) and one DescribeInstances page (1,000) on the
  10,000-instance fleet, server time (request sent -> response received) and total with parsing;
- baseline per-instance cost of moto's own DescribeInstances (100 instances run in moto).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from ssm_tui.demo import SandboxProcess  # noqa: E402

ONE_TRY = Config(retries={"max_attempts": 1})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = home
    return env


def moto_startup(home: str) -> tuple[float, str, subprocess.Popen[bytes]]:
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_clean_env(home),
    )
    endpoint = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/config", timeout=1).read()
            break
        except OSError:
            time.sleep(0.02)
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=ONE_TRY,
    )
    sts.get_caller_identity()
    return time.perf_counter() - started, endpoint, process


def sandbox_startup(home: str, instances: int | None) -> tuple[float, float, float, SandboxProcess]:
    """Spawn -> ready line, -> first DescribeInstanceInformation, -> first StartSession."""
    started = time.perf_counter()
    sandbox = SandboxProcess(instances=instances, env=_clean_env(home)).start()
    ready = time.perf_counter() - started
    ssm = _session(sandbox, "sandbox").client("ssm", config=ONE_TRY)
    first = ssm.describe_instance_information(MaxResults=50)["InstanceInformationList"]
    listed = time.perf_counter() - started
    target = next(i["InstanceId"] for i in first if i["PingStatus"] == "Online")
    ssm.terminate_session(SessionId=ssm.start_session(Target=target)["SessionId"])
    return ready, listed, time.perf_counter() - started, sandbox


def _session(sandbox: SandboxProcess, profile: str) -> boto3.Session:
    os.environ.update(sandbox.env)
    return boto3.Session(profile_name=profile)


def timed_calls(client: Any, call: Any, runs: int) -> tuple[float, float]:
    """Median server time (sent -> received, before parsing) and median total time."""
    marks: dict[str, float] = {}
    client.meta.events.register("before-send", lambda **_: marks.__setitem__("sent", _now()))
    client.meta.events.register("before-parse", lambda **_: marks.__setitem__("got", _now()))
    server: list[float] = []
    total: list[float] = []
    call()  # warm
    for _ in range(runs):
        started = _now()
        call()
        total.append(_now() - started)
        server.append(marks["got"] - marks["sent"])
    return statistics.median(server), statistics.median(total)


def _now() -> float:
    return time.perf_counter()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-home-")
    moto_times: list[float] = []
    moto_endpoint = ""
    moto_process: subprocess.Popen[bytes] | None = None
    for run in range(args.runs):
        elapsed, moto_endpoint, process = moto_startup(home)
        moto_times.append(elapsed)
        if run == args.runs - 1:
            moto_process = process
        else:
            process.terminate()
            process.wait()
    assert moto_process is not None
    ec2 = boto3.client(
        "ec2",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=ONE_TRY,
    )
    ec2.run_instances(ImageId="ami-760aaa0f", MinCount=100, MaxCount=100)
    moto_server, moto_total = timed_calls(ec2, lambda: ec2.describe_instances(), args.runs)
    moto_process.terminate()
    moto_process.wait()

    ready_default, first_default, session_default = [], [], []
    for _ in range(args.runs):
        ready, first, session_time, sandbox = sandbox_startup(home, None)
        ready_default.append(ready)
        first_default.append(first)
        session_default.append(session_time)
        sandbox.stop()
    ready, first, _, big = sandbox_startup(home, 10_000)
    try:
        session = _session(big, "prod")
        ssm = session.client("ssm", config=ONE_TRY)
        dii_server, dii_total = timed_calls(
            ssm, lambda: ssm.describe_instance_information(MaxResults=50), max(args.runs, 5)
        )
        big_ec2 = session.client("ec2", config=ONE_TRY)
        ec2_server, ec2_total = timed_calls(
            big_ec2, lambda: big_ec2.describe_instances(MaxResults=1000), args.runs
        )
    finally:
        big.stop()

    moto_start = statistics.median(moto_times)
    print(f"runs: {args.runs} (medians; this machine's load shows in every figure)")
    print(f"baseline moto.server spawn -> first STS answer        {moto_start:6.2f} s")
    print(
        f"sandbox (40)  spawn -> ready line                      {statistics.median(ready_default):6.2f} s"  # noqa: E501
        f"   ratio {statistics.median(ready_default) / moto_start:.2f}x"
    )
    print(
        f"sandbox (40)  spawn -> first DescribeInstanceInformation {statistics.median(first_default):4.2f} s"  # noqa: E501
    )
    print(
        f"sandbox (40)  spawn -> first StartSession (SSM seeded in the background) "
        f"{statistics.median(session_default):4.2f} s"
    )
    print(f"sandbox (10k) spawn -> ready line                      {ready:6.2f} s")
    print(f"sandbox (10k) spawn -> first DescribeInstanceInformation {first:4.2f} s")
    print(
        f"10k DescribeInstanceInformation page of 50: server {dii_server * 1000:6.1f} ms, "
        f"with parsing {dii_total * 1000:6.1f} ms"
    )
    per_instance_moto = moto_server / 100 * 1000
    per_instance_ours = ec2_server / 1000 * 1000
    print(
        f"10k DescribeInstances page of 1000: server {ec2_server * 1000:6.1f} ms, "
        f"with botocore parsing {ec2_total * 1000:6.1f} ms"
    )
    print(
        f"DescribeInstances server cost per instance: moto {per_instance_moto:.2f} ms, "
        f"sandbox {per_instance_ours:.3f} ms (ratio {per_instance_moto / per_instance_ours:.0f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
