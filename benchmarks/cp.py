"""`ssm-tui cp` of a large file against plain `scp` over the same SSM port forward, in one run.

1. cp:   `ssm-tui cp FILE web-1:...` (scp through `ssm-tui ssh-proxy`, AWS-StartSSHSession).
2. scp:  `ssm-tui connect web-1 --document AWS-StartPortForwardingSession` to port 22 on a local
         port, then plain `scp -P PORT` to 127.0.0.1 (the key pushed with boto3 first).
3. data channel: `ssm-tui connect web-1 --command 'head -c SIZE /dev/zero'` to /dev/null, the
         channel's own throughput without ssh.
All against a sandbox started here; prints MB/s and the ratios cp/scp and cp/channel.

Run: `.venv/bin/python benchmarks/cp.py [--mb 100] [--runs 3]`. Needs ssh and scp.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import bench_sandbox, timed  # noqa: E402  (benchmarks/_timing.py)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    import boto3

    from ssm_tui.aws.ssh import new_key

    with bench_sandbox("ssm-tui-bench-cp-") as (_sandbox, scratch, env):
        size = options.mb * 1024 * 1024
        payload = scratch / "payload.bin"
        with payload.open("wb") as handle:
            for _ in range(options.mb):
                handle.write(os.urandom(1024 * 1024))
        cli = [sys.executable, "-m", "ssm_tui.cli"]
        session = boto3.Session(profile_name="prod")
        ssm = session.client("ssm")
        web1 = next(
            i["InstanceId"]
            for i in ssm.describe_instance_information()["InstanceInformationList"]
            if i.get("ComputerName", "").startswith("ip-") and i["PlatformType"] == "Linux"
        )
        key = new_key(scratch / "id_ed25519")
        eic = session.client("ec2-instance-connect")
        cp_times, scp_times, channel_times = [], [], []
        for _ in range(options.runs):
            cp_times.append(
                timed([*cli, "cp", "--profile", "prod", str(payload), f"{web1}:bench-cp.bin"], env)
            )
            port = _free_port()
            ports = json.dumps({"portNumber": ["22"], "localPortNumber": [str(port)]})
            forward = subprocess.Popen(
                [*cli, "connect", web1, "--profile", "prod", "--plugin", "builtin",
                 "--document", "AWS-StartPortForwardingSession",
                 "--parameters", ports],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                for _ in range(100):
                    with socket.socket() as probe:
                        if probe.connect_ex(("127.0.0.1", port)) == 0:
                            break
                    time.sleep(0.1)
                public = Path(f"{key}.pub").read_text().strip()
                eic.send_ssh_public_key(
                    InstanceId=web1, InstanceOSUser="ec2-user", SSHPublicKey=public
                )
                scp_times.append(
                    timed(
                        [
                            "scp",
                            "-q",
                            "-P",
                            str(port),
                            "-F",
                            "/dev/null",
                            "-i",
                            str(key),
                            "-o",
                            "IdentitiesOnly=yes",
                            "-o",
                            "StrictHostKeyChecking=no",
                            "-o",
                            f"UserKnownHostsFile={scratch / 'known'}",
                            str(payload),
                            "ec2-user@127.0.0.1:bench-scp.bin",
                        ],
                        env,
                    )  # fmt: skip
                )
            finally:
                forward.terminate()
                forward.wait(10)
            channel_times.append(
                timed(
                    [
                        *cli,
                        "connect",
                        web1,
                        "--profile",
                        "prod",
                        "--plugin",
                        "builtin",
                        "--command",
                        f"head -c {size} /dev/zero",
                    ],
                    env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        rows = [("ssm-tui cp", cp_times), ("scp over port forward", scp_times),
                ("data channel (no ssh)", channel_times)]  # fmt: skip
        for name, times in rows:
            median = statistics.median(times)
            print(f"{name:24s} median {median:6.2f} s  {options.mb / median:7.1f} MB/s  "
                  f"runs {', '.join(f'{t:.2f}' for t in times)}")  # fmt: skip
        cp, scp, channel = (statistics.median(t) for _, t in rows)
        print(f"cp / scp time ratio {cp / scp:.2f}; cp / data channel {cp / channel:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
