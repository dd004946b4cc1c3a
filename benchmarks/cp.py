"""`ssm-tui cp` of a large file against plain `scp` over the same SSM port forward, in one run.

1. cp:   `ssm-tui cp FILE web-1:...` (scp through `ssm-tui ssh-proxy`, AWS-StartSSHSession).
2. scp:  `ssm-tui connect web-1 --document AWS-StartPortForwardingSession` to port 22 on a local
         port, then plain `scp -P PORT` to 127.0.0.1 (the key pushed with boto3 first).
3. data channel: the file sent through a port forward (the same AWS-StartPortForwardingSession)
         to a local TCP sink on the "instance": the channel's own upload rate, without ssh.
4. shell channel: `ssm-tui connect web-1 --command 'head -c SIZE /dev/zero'` to /dev/null (a pty
         and the command wrapper on top of the channel, downloading: what a copy without ssh
         would ride on).
5. cp --shell: the same file over the shell channel (no ssh: how `cp` reaches an mi- node).
6. cp of 1 byte: the fixed cost of a cp (fleet listing, key push, session, ssh handshake), so the
         transfer's own rate is also printed with it taken off.
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import bench_sandbox, timed  # noqa: E402  (benchmarks/_timing.py)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the port forward never opened 127.0.0.1:{port}")


def _byte_sink(size: int) -> socket.socket:
    """A loopback server that reads `size` bytes from each client, then answers b"ok"."""
    server = socket.create_server(("127.0.0.1", 0))

    def take(conn: socket.socket) -> None:
        with conn:
            left = size
            while left > 0:
                chunk = conn.recv(1024 * 1024)
                if not chunk:  # the forward's probe connects and leaves
                    return
                left -= len(chunk)
            conn.sendall(b"ok")

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=take, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


class _Forward:
    """`ssm-tui connect --document AWS-StartPortForwardingSession` to `port` on a local port."""

    def __init__(self, cli: list[str], env: dict[str, str], instance: str, port: int) -> None:
        self.local = _free_port()
        ports = json.dumps({"portNumber": [str(port)], "localPortNumber": [str(self.local)]})
        self.process = subprocess.Popen(
            [*cli, "connect", instance, "--profile", "prod", "--plugin", "builtin",
             "--document", "AWS-StartPortForwardingSession", "--parameters", ports],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_port(self.local)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _send_all(port: int, payload: Path) -> float:
    """Upload `payload` through the forward, as cp and scp do, until the sink has it all."""
    data = payload.read_bytes()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        answer = sock.recv(2)
    elapsed = time.perf_counter() - start
    if answer != b"ok":
        raise RuntimeError("the data channel did not deliver the whole payload")
    return elapsed


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
        tiny = scratch / "tiny.bin"
        tiny.write_bytes(b"x")
        cli = [sys.executable, "-m", "ssm_tui.cli"]
        session = boto3.Session(profile_name="prod")
        ssm = session.client("ssm")
        web1 = next(
            i["InstanceId"]
            for i in ssm.describe_instance_information()["InstanceInformationList"]
            if i.get("ComputerName", "").startswith("ip-") and i["PlatformType"] == "Linux"
        )
        key = new_key(scratch / "id_ed25519")
        public = Path(f"{key}.pub").read_text().strip()
        eic = session.client("ec2-instance-connect")
        server = _byte_sink(size)
        server_port = server.getsockname()[1]
        times: dict[str, list[float]] = {
            "ssm-tui cp": [], "scp over port forward": [], "data channel (port fwd)": [],
            "shell channel (--command)": [], "ssm-tui cp --shell": [],
            "ssm-tui cp of 1 byte": [],
        }  # fmt: skip
        for _ in range(options.runs):
            times["ssm-tui cp"].append(
                timed([*cli, "cp", "--profile", "prod", str(payload), f"{web1}:bench-cp.bin"], env)
            )
            received = scratch / "home" / "back.bin"
            subprocess.run(
                [*cli, "cp", "--profile", "prod", f"{web1}:bench-cp.bin", str(received)],
                env=env, check=True,
            )  # fmt: skip
            if received.read_bytes() != payload.read_bytes():
                raise RuntimeError("ssm-tui cp did not copy the file byte-exact")
            received.unlink()
            times["ssm-tui cp --shell"].append(
                timed(
                    [
                        *cli,
                        "cp",
                        "--profile",
                        "prod",
                        "--shell",
                        str(payload),
                        f"{web1}:bench-shell.bin",
                    ],
                    env,
                )  # fmt: skip
            )
            times["ssm-tui cp of 1 byte"].append(
                timed([*cli, "cp", "--profile", "prod", str(tiny), f"{web1}:tiny.bin"], env)
            )
            forward = _Forward(cli, env, web1, 22)
            try:
                eic.send_ssh_public_key(
                    InstanceId=web1, InstanceOSUser="ec2-user", SSHPublicKey=public
                )
                times["scp over port forward"].append(
                    timed(
                        [
                            "scp",
                            "-q",
                            "-P",
                            str(forward.local),
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
                forward.close()
            forward = _Forward(cli, env, web1, server_port)
            try:
                times["data channel (port fwd)"].append(_send_all(forward.local, payload))
            finally:
                forward.close()
            times["shell channel (--command)"].append(
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
        server.close()
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, runs in times.items():
            mb = 1 / (1024 * 1024) if name.endswith("1 byte") else options.mb
            print(f"{name:26s} median {medians[name]:6.2f} s  {mb / medians[name]:7.1f} MB/s  "
                  f"runs {', '.join(f'{t:.2f}' for t in runs)}")  # fmt: skip
        cp, scp = medians["ssm-tui cp"], medians["scp over port forward"]
        channel, fixed = medians["data channel (port fwd)"], medians["ssm-tui cp of 1 byte"]
        transfer = max(cp - fixed, 1e-6)
        print(f"cp / scp time ratio {cp / scp:.2f}; cp / data channel {cp / channel:.2f}")
        print(f"cp without its fixed cost ({fixed:.2f} s): {options.mb / transfer:.1f} MB/s, "
              f"{transfer / channel:.2f} x the data channel's time")  # fmt: skip
        shell = medians["ssm-tui cp --shell"]
        print(f"cp --shell / cp time ratio {shell / cp:.2f}; "
              f"cp --shell / data channel {shell / channel:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
