"""What KMS encryption costs a session: open time, output throughput, paste, plain vs encrypted.

Run: ``.venv/bin/python benchmarks/kms.py [--runs 5] [--mb 4]``

It starts its own sandbox (``ssm_tui.demo.SandboxProcess``) and drives our client
(``DataChannelClient``, in process) through it, alternating plain and KMS-encrypted sessions
(``POST /_sandbox/kms``) so both see the same machine load. For each: the time from the socket's
open to the session being ready (the encrypted one adds kms:GenerateDataKey, the agent's
kms:Decrypt and the challenge round trip), output throughput (``seq`` until an end marker) and a
1 MB paste into ``head -c`` until the shell's marker. Ratios are encrypted / plain, same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import alternate, bench_sandbox  # noqa: E402  (benchmarks/_timing.py)

from ssm_tui.demo import SandboxProcess  # noqa: E402
from tests.clients import Sink, client_for  # noqa: E402

PASTE = 1 << 20


def _kms(box: SandboxProcess, enabled: bool) -> None:
    request = urllib.request.Request(
        box.endpoint + "/_sandbox/kms",
        data=json.dumps({"enabled": enabled}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        response.read()


async def one_session(target: str, mb: int) -> dict[str, float]:
    import boto3

    ssm = boto3.Session(profile_name="sandbox").client("ssm")
    started = ssm.start_session(Target=target)
    sink = Sink()
    client = client_for(started, target, on_output=sink)
    t0 = time.perf_counter()
    async with client:
        await client.wait_ready()
        ready = time.perf_counter() - t0
        await client.send_input(b"stty -echo; echo READY\r")
        await sink.wait_for(b"READY\r\n")
        lines = mb * 1024 * 1024 // 7  # seq 1..N prints about 7 bytes a line at these sizes
        mark = len(sink.data)
        t1 = time.perf_counter()
        await client.send_input(f"seq {lines}; echo SEQ-$((1+1))\r".encode())
        await sink.wait_for(b"SEQ-2", mark)
        seconds = time.perf_counter() - t1
        throughput = (len(sink.data) - mark) / seconds / 1e6
        mark = len(sink.data)
        await client.send_input(
            f"stty raw; head -c {PASTE} >/dev/null; echo PASTE-$((2+3))\r".encode()
        )
        await asyncio.sleep(0.3)
        t2 = time.perf_counter()
        await client.send_input(b"x" * PASTE)
        await sink.wait_for(b"PASTE-5", mark)
        paste = time.perf_counter() - t2
        encrypted = client.encrypted
        await client.send_input(b"stty sane; exit\r")
        await client.wait_closed()
    return {"ready": ready, "mbps": throughput, "paste": paste, "encrypted": float(encrypted)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=int, default=4)
    args = parser.parse_args()
    with bench_sandbox("ssm-tui-kms-bench-", folder="files", instances=4) as (box, _, _env):
        import boto3

        ssm = boto3.Session(profile_name="sandbox").client("ssm")
        infos = ssm.describe_instance_information()["InstanceInformationList"]
        target = sorted(
            i["InstanceId"]
            for i in infos
            if i["PingStatus"] == "Online" and i["PlatformType"] == "Linux"
        )[0]
        asyncio.run(one_session(target, 1))  # warm up imports and the sandbox

        def run(encrypted: bool) -> dict[str, float]:
            _kms(box, encrypted)
            result = asyncio.run(one_session(target, args.mb))
            assert bool(result["encrypted"]) == encrypted
            return result

        results = alternate(args.runs, {False: lambda: run(False), True: lambda: run(True)})
    print(f"{args.runs} runs each, {args.mb} MB of seq output, {PASTE >> 20} MB paste")
    print(f"{'':12} {'plain':>10} {'kms':>10} {'kms/plain':>10}")
    for key, label, unit in (
        ("ready", "open (ms)", 1000),
        ("mbps", "output MB/s", 1),
        ("paste", "paste (s)", 1),
    ):
        plain = statistics.median(r[key] for r in results[False]) * unit
        kms = statistics.median(r[key] for r in results[True]) * unit
        print(f"{label:12} {plain:10.2f} {kms:10.2f} {kms / plain:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
