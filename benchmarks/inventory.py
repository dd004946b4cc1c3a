"""Benchmark: ssm-tui's concurrent inventory against a sequential loop of the same calls.

Run: `.venv/bin/python benchmarks/inventory.py [--latency 100] [--quick]`

Part 1, "40 profiles x 2 regions, 2,000 instances": the sandbox seeds three accounts per process,
so the benchmark starts several sandbox processes (each `latency_ms=100`) and writes its own AWS
config with 40 profiles (a keys profile per sandbox plus switch-role profiles into its prod and dev
accounts), each pointing at its sandbox with `endpoint_url`. Together they hold 2,000 instances.

Part 2, "10,000 instances in one account": one sandbox, listed through one profile per account
(both regions); the largest account is reported as such.

Part 0 (`--clients N`): CPU per new session + client + first call, for one open client, stock
aiobotocore (a session per client) and `ssm_tui.aws.clients` (what a first listing pays per scope).

For parts 1 and 2 it prints:
- ssm-tui, first listing: `InventoryService.stream` over every scope, cold (fresh sessions, so
  AssumeRole, GetCallerIdentity and client creation are included);
- ssm-tui, refresh: the same service again with its clients kept open (what the app's periodic
  refresh does);
- sequential: what a script does, one profile and region after the other with boto3: all
  DescribeInstanceInformation pages, EC2 DescribeInstances for the i-* ids, ListTagsForResource
  for each mi-*; its per-scope times give "the longest single scope's own chain";
- the longest scope's DescribeInstanceInformation pages alone: the NextToken chain, the floor of
  any listing that walks it (ssm-tui partitions a big scope instead: see `ssm_tui.aws.inventory`);
- the API calls each side made, by operation (counted where botocore sends them, retries not
  counted), so the work compared is visibly the same;
- ratios for first listing and refresh, and one VERDICT line per target: sequential / ssm-tui
  (target >= 20) and ssm-tui / longest chain (target <= 2).
Both sides list the same instances (checked: a VERDICT is INVALID when they differ).
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from ssm_tui.demo import SandboxProcess  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")
CALLS: Counter[str] = Counter()
"""API calls made in this process by operation name (both botocore and aiobotocore)."""


def count_calls() -> None:
    """Count every API call where botocore and aiobotocore send it (once per call, not per retry).

    Measurement only: the wrappers add a dict increment to each call of both sides.
    """
    import aiobotocore.endpoint
    import botocore.endpoint

    sync_send = botocore.endpoint.Endpoint._send_request
    async_send = aiobotocore.endpoint.AioEndpoint._send_request

    def counted(self, request_dict, operation_model):  # type: ignore[no-untyped-def]
        CALLS[operation_model.name] += 1
        return sync_send(self, request_dict, operation_model)

    async def counted_async(self, request_dict, operation_model):  # type: ignore[no-untyped-def]
        CALLS[operation_model.name] += 1
        return await async_send(self, request_dict, operation_model)

    botocore.endpoint.Endpoint._send_request = counted  # type: ignore[method-assign]
    aiobotocore.endpoint.AioEndpoint._send_request = counted_async  # type: ignore[method-assign]


LISTING_OPERATIONS = ("DescribeInstanceInformation", "DescribeInstances", "ListTagsForResource")


def describe_calls(calls: Counter[str]) -> str:
    parts = [f"{calls[op]:,} {op}" for op in LISTING_OPERATIONS]
    other = sum(calls.values()) - sum(calls[op] for op in LISTING_OPERATIONS)
    return f"{sum(calls.values()):,} ({', '.join(parts)}, {other:,} other)"


ROLE_ACCOUNTS = (("prod", "222222222222"), ("dev", "333333333333"))


def start_sandboxes(count: int, instances: int, latency: int, base: Path) -> list[SandboxProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSM_TUI_"))}
    env["HOME"] = str(base / "home")
    boxes = [
        SandboxProcess(
            instances=instances,
            seed=1000 + n,
            latency_ms=latency,
            directory=base / f"sandbox{n}",
            env=env,
        )
        for n in range(count)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda box: box.start(timeout=300), boxes))
    return boxes


def write_config(boxes: list[SandboxProcess], profiles: int, folder: Path) -> list[str]:
    """An AWS config with `profiles` profiles spread over the sandboxes' accounts."""
    config = configparser.ConfigParser()
    credentials = configparser.ConfigParser()
    names: list[str] = []
    for n, box in enumerate(boxes):
        own = configparser.ConfigParser()
        own.read(box.env["AWS_SHARED_CREDENTIALS_FILE"])
        keys = own["sandbox"]
        base = f"s{n:02d}-mgmt"
        credentials[base] = {
            "aws_access_key_id": keys["aws_access_key_id"],
            "aws_secret_access_key": keys["aws_secret_access_key"],
        }
        config[f"profile {base}"] = {"region": "us-east-1", "endpoint_url": box.endpoint}
        names.append(base)
        for label, account in ROLE_ACCOUNTS:
            name = f"s{n:02d}-{label}"
            config[f"profile {name}"] = {
                "role_arn": f"arn:aws:iam::{account}:role/SSMOperator",
                "source_profile": base,
                "region": "us-east-1",
                "endpoint_url": box.endpoint,
            }
            names.append(name)
    with open(folder / "config", "w") as f:
        config.write(f)
    with open(folder / "credentials", "w") as f:
        credentials.write(f)
    os.environ["AWS_CONFIG_FILE"] = str(folder / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(folder / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(var, None)
    return names[:profiles]


def sequential(scopes: list[tuple[str, str]]) -> tuple[float, dict, dict[tuple[str, str], float]]:
    """One scope after the other, the calls a script makes; returns (wall, ids, per-scope time)."""
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    sessions: dict[str, boto3.Session] = {}
    found: dict[tuple[str, str], set[str]] = {}
    per_scope: dict[tuple[str, str], float] = {}
    calls = CALLS.copy()
    started = time.monotonic()
    for profile, region in scopes:
        t0 = time.monotonic()
        session = sessions.setdefault(profile, boto3.Session(profile_name=profile))
        ssm = session.client("ssm", region_name=region, config=config)
        ec2 = session.client("ec2", region_name=region, config=config)
        infos = []
        for page in ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 50}
        ):
            infos += page["InstanceInformationList"]
        ec2_ids = [i["InstanceId"] for i in infos if i["InstanceId"].startswith("i-")]
        for start in range(0, len(ec2_ids), 200):
            for _page in ec2.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-id", "Values": ec2_ids[start : start + 200]}]
            ):
                pass
        for info in infos:
            if not info["InstanceId"].startswith("i-"):
                ssm.list_tags_for_resource(
                    ResourceType="ManagedInstance", ResourceId=info["InstanceId"]
                )
        found[(profile, region)] = {i["InstanceId"] for i in infos}
        per_scope[(profile, region)] = time.monotonic() - t0
    wall = time.monotonic() - started
    SEQUENTIAL_CALLS.clear()
    SEQUENTIAL_CALLS.update(CALLS - calls)
    return wall, found, per_scope


SEQUENTIAL_CALLS: Counter[str] = Counter()
"""The API calls of the last `sequential` run."""


def server_cpu(boxes: list[SandboxProcess]) -> float:
    """CPU seconds the sandbox processes have used (utime + stime from /proc)."""
    total = 0.0
    for box in boxes:
        if box.process is None:
            continue
        try:
            with open(f"/proc/{box.process.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


class Run:
    """One timed pass of ssm-tui's inventory: wall time, CPU on both sides, what it found."""

    def __init__(
        self, wall: float, cpu: float, server: float, results: list, calls: Counter[str]
    ) -> None:
        self.wall, self.cpu, self.server, self.calls = wall, cpu, server, calls
        self.errors = [r.error for r in results if r.error]
        self.found = {
            (r.scope.profile, r.scope.region): {i.instance_id for i in r.instances} for r in results
        }
        self.slowest = max((r.elapsed for r in results), default=0.0)


async def concurrent(
    scopes: list[tuple[str, str]], boxes: list[SandboxProcess], repeat: int
) -> tuple[Run, Run]:
    """Warm-up pass, then `repeat` times a cold pass (fresh sessions and account ids: AssumeRole,
    GetCallerIdentity, new clients) followed by a refresh (clients kept); the median run of each
    kind by wall time.

    The median, because this machine is shared: one pass can be slowed by someone else's work.
    """
    from ssm_tui.aws import accounts, clients
    from ssm_tui.aws.inventory import InventoryService
    from ssm_tui.aws.models import Scope

    wanted = [Scope(p, r) for p, r in scopes]
    async with InventoryService() as warm_up:  # moto loads backends lazily: not ours to time
        [r async for r in warm_up.stream(wanted)]
    colds: list[Run] = []
    warms: list[Run] = []
    for _ in range(repeat):
        if hasattr(clients, "aclose"):  # long-lived clients (issue 14): closed before timing
            await clients.aclose()
        clients.forget_sessions()  # sessions, clients, credentials, identities
        accounts.forget()  # account ids too: an app's first start knows none of them
        async with InventoryService(keep_clients=True) as service:
            for runs in (colds, warms):
                calls = CALLS.copy()
                cpu, server, started = time.process_time(), server_cpu(boxes), time.monotonic()
                results = [r async for r in service.stream(wanted)]
                runs.append(
                    Run(
                        time.monotonic() - started,
                        time.process_time() - cpu,
                        server_cpu(boxes) - server,
                        results,
                        CALLS - calls,
                    )
                )

    def median(runs: list[Run]) -> Run:
        return sorted(runs, key=lambda run: run.wall)[len(runs) // 2]

    for name, runs in (("first listing", colds), ("refresh", warms)):
        walls = ", ".join(f"{run.wall:.2f}" for run in runs)
        print(f"  ssm-tui {name} passes: {walls} s")
    return median(colds), median(warms)


async def alone(scope: tuple[str, str]) -> float:
    """One scope listed by itself through ssm-tui (warm session): its own pipelined chain."""
    from ssm_tui.aws.inventory import InventoryService
    from ssm_tui.aws.models import Scope

    async with InventoryService(keep_clients=True) as service:
        await service.list_scope(Scope(*scope))  # warm: credentials, identity, clients
        t0 = time.monotonic()
        result = await service.list_scope(Scope(*scope))
    assert result.error is None, result.error
    return time.monotonic() - t0


def page_chain(scope: tuple[str, str]) -> tuple[float, int]:
    """The scope's DescribeInstanceInformation pages alone, one after the other (boto3).

    No listing can beat this NextToken chain, so it is the floor the pipelined listing is held to.
    """
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    ssm = boto3.Session(profile_name=scope[0]).client("ssm", region_name=scope[1], config=config)
    t0 = time.monotonic()
    pages = list(
        ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 50}
        )
    )
    return time.monotonic() - t0, len(pages)


SPEED_UP_TARGET = 20.0
"""ssm-tui must be at least this many times faster than the sequential loop."""
CHAIN_TARGET = 2.0
"""ssm-tui's wall time must be within this factor of the longest scope's own chain of calls."""


def verdict_of(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def report(
    title: str, scopes: list[tuple[str, str]], boxes: list[SandboxProcess], repeat: int
) -> None:
    print(f"\n== {title}")
    cold, warm = asyncio.run(concurrent(scopes, boxes, repeat))
    for run in (cold, warm):
        if run.errors:
            print(f"  errors: {run.errors[:3]}")
    server = server_cpu(boxes)
    seq_wall, seq_found, per_scope = sequential(scopes)
    seq_server = server_cpu(boxes) - server
    total = sum(len(v) for v in seq_found.values())
    same = cold.found == seq_found == warm.found
    longest_scope = max(per_scope, key=per_scope.__getitem__)
    chain = per_scope[longest_scope]
    own = asyncio.run(alone(longest_scope))
    pages_wall, pages = page_chain(longest_scope)
    print(f"  {len(scopes)} scopes, {total} instance rows (same lists: {same})")
    print(f"  API calls, ssm-tui first listing: {describe_calls(cold.calls)}")
    print(f"  API calls, ssm-tui refresh:       {describe_calls(warm.calls)}")
    print(f"  API calls, sequential loop:       {describe_calls(SEQUENTIAL_CALLS)}")
    print("  (median of the passes)           wall      our CPU   sandbox CPU")
    print(
        f"  ssm-tui, first listing      {cold.wall:8.2f} s {cold.cpu:8.2f} s {cold.server:8.2f} s"
    )
    print(
        f"  ssm-tui, refresh            {warm.wall:8.2f} s {warm.cpu:8.2f} s {warm.server:8.2f} s"
    )
    print(f"  sequential loop (boto3)     {seq_wall:8.2f} s {'':10} {seq_server:8.2f} s")
    print(
        f"  longest scope {longest_scope[0]}/{longest_scope[1]} "
        f"({len(seq_found[longest_scope])} instances):"
    )
    print(f"    its sequential chain      {chain:8.2f} s   (all its calls, one after the other)")
    print(
        f"    its DII pages alone       {pages_wall:8.2f} s   ({pages} pages: plain chain's floor)"
    )
    print(f"    listed alone by ssm-tui   {own:8.2f} s")
    print(f"    slowest scope in the run  {cold.slowest:8.2f} s")
    print("  ratios                        first listing      refresh")
    cold_speed, warm_speed = seq_wall / cold.wall, seq_wall / warm.wall
    cold_chain, warm_chain = cold.wall / chain, warm.wall / chain
    print(
        f"  sequential / ssm-tui        {cold_speed:8.1f} x {'':8}{warm_speed:8.1f} x"
        f"   (target >= {SPEED_UP_TARGET:.0f})"
    )
    print(
        f"  ssm-tui / longest chain     {cold_chain:8.2f} {'':10}{warm_chain:8.2f}"
        f"     (target <= {CHAIN_TARGET:.0f})"
    )
    print(
        f"  (sequential / DII pages alone = {seq_wall / pages_wall:.1f} x: the most a listing that"
        " walks the plain page chain could reach; ssm-tui partitions big scopes instead)"
    )

    def verdict(ok: bool) -> str:
        return "INVALID (the two sides listed different instances)" if not same else verdict_of(ok)

    print(
        f"  VERDICT {title} | >= {SPEED_UP_TARGET:.0f}x sequential: first listing "
        f"{verdict(cold_speed >= SPEED_UP_TARGET)} ({cold_speed:.1f}x), refresh "
        f"{verdict(warm_speed >= SPEED_UP_TARGET)} ({warm_speed:.1f}x)"
    )
    print(
        f"  VERDICT {title} | <= {CHAIN_TARGET:.0f}x longest chain: first listing "
        f"{verdict(cold_chain <= CHAIN_TARGET)} ({cold_chain:.2f}), refresh "
        f"{verdict(warm_chain <= CHAIN_TARGET)} ({warm_chain:.2f})"
    )
    cores = os.cpu_count() or 1
    print(
        f"  (this machine: {cores} cores, load {os.getloadavg()[0]:.1f}; the concurrent run is "
        "CPU-bound when our CPU + sandbox CPU approaches wall x cores)"
    )


async def client_costs(profile: str, count: int) -> dict[str, tuple[float, float]]:
    """CPU per new client (session, client, first call) and clients per second, three ways.

    - "one open client": `count` calls on one client, the cost of the call itself;
    - "stock aiobotocore": a fresh `AioSession` and client per call, as a plain program does;
    - "ssm-tui clients": a fresh session and client from `ssm_tui.aws.clients` per call.
    Each call is one DescribeInstanceInformation page; run one after the other (no overlap).
    """
    from aiobotocore.session import AioSession

    from ssm_tui.aws import clients

    async def open_client() -> None:
        async with clients.client("ssm", profile, "us-east-1") as ssm:
            for _ in range(count):
                await ssm.describe_instance_information(MaxResults=5)

    async def stock() -> None:
        for _ in range(count):
            session = AioSession(profile=profile)
            async with session.create_client("ssm", region_name="us-east-1") as ssm:
                await ssm.describe_instance_information(MaxResults=5)

    async def ours() -> None:
        for _ in range(count):
            clients.forget_sessions()
            async with clients.client("ssm", profile, "us-east-1") as ssm:
                await ssm.describe_instance_information(MaxResults=5)

    results = {}
    for name, run in (
        ("one open client", open_client),
        ("stock aiobotocore", stock),
        ("ssm-tui clients", ours),
    ):
        await run()  # warm: models loaded, first-time imports
        cpu, wall = time.process_time(), time.monotonic()
        await run()
        results[name] = ((time.process_time() - cpu) / count, count / (time.monotonic() - wall))
    return results


def clients_part(count: int, base: Path) -> None:
    print(f"\nstarting 1 sandbox (no latency) to time {count} client creations")
    (box,) = start_sandboxes(1, 40, 0, base / "clients")
    try:
        names = write_config([box], 1, base / "clients")
        costs = asyncio.run(client_costs(names[0], count))
    finally:
        box.stop()
    call_cpu = costs["one open client"][0]
    print("== client creation: CPU per new session + client + its first call")
    for name, (cpu, rate) in costs.items():
        extra = "" if name == "one open client" else f"   (+{(cpu - call_cpu) * 1000:5.1f} ms)"
        print(f"  {name:20} {cpu * 1000:6.1f} ms CPU per call {rate:7.1f} per s{extra}")


def fleet_part(args: argparse.Namespace, base: Path) -> None:
    per_box = -(-args.instances // args.sandboxes)
    print(f"starting {args.sandboxes} sandboxes x {per_box} instances, latency {args.latency} ms")
    boxes = start_sandboxes(args.sandboxes, per_box, args.latency, base)
    try:
        names = write_config(boxes, args.profiles, base)
        scopes = [(name, region) for name in names for region in REGIONS]
        report(f"{len(names)} profiles x {len(REGIONS)} regions", scopes, boxes, args.repeat)
    finally:
        for box in boxes:
            box.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=int, default=100, help="sandbox latency per call (ms)")
    parser.add_argument("--sandboxes", type=int, default=14, help="sandbox processes for part 1")
    parser.add_argument("--profiles", type=int, default=40)
    parser.add_argument("--instances", type=int, default=2000, help="fleet size of part 1")
    parser.add_argument("--big", type=int, default=10000, help="instances in one account, part 2")
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--skip-big", action="store_true", help="skip part 2 (10,000 instances)")
    parser.add_argument("--skip-fleet", action="store_true", help="skip part 1 (40 profiles)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="cold + refresh passes per part (median shown)"
    )
    parser.add_argument(
        "--clients", type=int, default=100, metavar="N", help="client creations to time (0: skip)"
    )
    args = parser.parse_args()
    if args.quick:
        args.instances //= 10
        args.big //= 10
        args.sandboxes = max(2, args.sandboxes // 4)
        args.profiles = min(args.profiles, args.sandboxes * 3)
    count_calls()
    base = Path(tempfile.mkdtemp(prefix="ssm-tui-bench-"))
    if args.clients:
        clients_part(args.clients, base)
    if not args.skip_fleet:
        fleet_part(args, base)
    if args.skip_big:
        return 0
    # The sandbox spreads a fleet over its three accounts (~45 % in prod); size it so that one
    # account holds about `--big` instances.
    fleet = int(args.big / 0.45)
    print(f"\nstarting 1 sandbox x {fleet} instances (one account holds ~{args.big})")
    (box,) = start_sandboxes(1, fleet, args.latency, base / "big")
    try:
        names = write_config([box], 3, base / "big")
        prod = [n for n in names if n.endswith("-prod")]
        report(
            "one account (prod), both regions", [(prod[0], r) for r in REGIONS], [box], args.repeat
        )
    finally:
        box.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
