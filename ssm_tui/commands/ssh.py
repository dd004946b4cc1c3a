"""`ssm-tui ssh [--user U] [--identity KEY] TARGET [ssh args...]`: OpenSSH over Session Manager.

TARGET is an instance id or Name tag in any profile (`user@TARGET` sets the OS user too). A
throw-away key pair is made for this one connection unless `--identity` names the user's own; its
public half is pushed with EC2 Instance Connect (SendSSHPublicKey) for the OS user, which defaults
per platform (ec2-user, ubuntu, admin, pi ...). Then the real `ssh` runs with `ssm-tui ssh-proxy`
as ProxyCommand, which starts an `AWS-StartSSHSession` itself, so no session token is ever on a
command line and no official plugin is needed. Everything after TARGET goes to ssh as is (a
remote command, `-L 8080:localhost:80`, ...).

Exit status: ssh's (the remote command's), 255 when ssh could not be started or the target was
not found.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_FAILURE = 255


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options (ours come before TARGET, ssh's after it)."""
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="where to look")
    parser.add_argument("--regions", "-r", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--user", "-u", help="OS user (default: the platform's, e.g. ec2-user)")
    parser.add_argument(
        "--identity", "-i", type=Path, metavar="KEY", help="your private key (default: throw-away)"
    )
    parser.add_argument(
        "--via",
        metavar="NODE",
        help="TARGET is a host only NODE (a managed instance, e.g. mi-...) reaches",
    )
    parser.add_argument("--port", type=int, default=22, help="with --via: the host's ssh port")
    parser.add_argument("target", metavar="[USER@]TARGET", help="instance id or Name tag")
    parser.add_argument("ssh_args", nargs=argparse.REMAINDER, help="passed to ssh")


def _fail(message: str, hint: str = "") -> int:
    from ssm_tui.commands.list_cmd import printable

    print(f"ssm-tui ssh: {printable(message)}", file=sys.stderr)
    if hint:
        print(f"  hint: {printable(hint)}", file=sys.stderr)
    return EXIT_FAILURE


class Refused(Exception):
    """Why ssh cannot start (already explained to the user); the exit status goes with it."""


def prepare(
    args: argparse.Namespace, target: str, user: str, scratch: Path, instance: Any = None
) -> tuple[list[str], str]:
    """(ssh options, host) for `target` (or `instance`, already found): the key pushed, our
    proxy set."""
    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets

    if args.identity is not None and not args.identity.is_file():
        raise Refused(f"--identity {args.identity}: no such file")
    try:
        if instance is None:
            fleet = targets.load_fleet(args.profile, args.regions or ())
            instance = targets.one_target(fleet.instances, target)
    except SsmTuiError as exc:
        raise Refused(exc.message, exc.hint) from None
    if not instance.supports_ssh:
        raise Refused(
            f"{instance.name} ({instance.instance_id}) is a {instance.platform_type} instance",
            "ssh needs Linux or macOS; use `ssm-tui connect` for a shell",
        )
    user = user or args.user or ssh.default_user(instance)
    identity = args.identity or ssh.new_key(scratch / "id_ed25519")
    if ssh.supports_instance_connect(instance):
        try:
            key = ssh.public_key(identity)
            asyncio.run(
                ssh.push_key(instance.profile, instance.region, instance.instance_id, user, key)
            )
        except SsmTuiError as exc:
            raise Refused(f"could not push the key: {exc.message}", exc.hint) from None
    proxy = ssh.proxy_command(ssh.proxy_argv(instance))
    return ssh.ssh_options(instance, user, identity, proxy), instance.instance_id


def run(args: argparse.Namespace) -> int:
    ssh_binary = shutil.which("ssh")
    if ssh_binary is None:
        return _fail("OpenSSH's ssh is not installed", "install it (Debian: openssh-client)")
    user, _, target = args.target.rpartition("@")
    if args.via:
        return _via(args, ssh_binary, args.user or user, target)
    with tempfile.TemporaryDirectory(prefix="ssm-tui-ssh-") as scratch:
        try:
            options, host = prepare(args, target, args.user or user, Path(scratch))
        except Refused as refused:
            return _fail(*refused.args)
        try:
            return subprocess.call([ssh_binary, *options, host, *args.ssh_args])
        except KeyboardInterrupt:
            return 130


def _via(args: argparse.Namespace, ssh_binary: str, user: str, host: str) -> int:
    """ssh to `host` behind the managed node `--via`: a port forward to host:port through the
    node (AWS-StartPortForwardingSessionToRemoteHost, kept by `plugin/forwarding.py` on a thread
    of its own) and plain ssh to its local port. The host is not an instance: no Instance
    Connect, so the login is the user's own key (`--identity`, else ssh's defaults)."""
    import threading

    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets
    from ssm_tui.plugin.forwarding import ForwardSpec, ForwardStatus, ForwardStopped, keep_forward

    if args.identity is not None and not args.identity.is_file():
        return _fail(f"--identity {args.identity}: no such file")
    if not 1 <= args.port <= 65535:
        return _fail("--port is a number from 1 to 65535")
    try:
        fleet = targets.load_fleet(args.profile, args.regions or ())
        node = targets.one_target(fleet.instances, args.via)
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    spec = ForwardSpec(
        name=f"ssh {host}",
        target=node.instance_id,
        profile=node.profile,
        region=node.region,
        remote_port=args.port,
        remote_host=host,
    )
    status = ForwardStatus()
    opened = threading.Event()
    failure: list[str] = []
    control: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    def forward() -> None:
        async def keep() -> None:
            stop = asyncio.Event()
            control["stop"] = (asyncio.get_running_loop(), stop)

            def on_change(state: ForwardStatus) -> None:
                if state.state == "open":
                    opened.set()

            try:
                await keep_forward(spec, status, stop, on_change)
            except ForwardStopped as exc:
                failure.append(str(exc))

        try:
            asyncio.run(keep())
        finally:
            opened.set()

    thread = threading.Thread(target=forward, name="ssm-tui-forward", daemon=True)
    thread.start()
    try:
        opened.wait()
        if failure or status.state != "open":
            return _fail(failure[0] if failure else "the port forward did not open")
        options = [
            "-p", str(status.local_port),
            "-o", f"HostKeyAlias={host}.via.{node.instance_id}",
            "-o", f"UserKnownHostsFile={ssh.known_hosts()}",
            "-o", "StrictHostKeyChecking=accept-new",
        ]  # fmt: skip
        if user:
            options += ["-o", f"User={user}"]
        if args.identity is not None:
            options += ["-i", str(args.identity), "-o", "IdentitiesOnly=yes"]
        try:
            return subprocess.call([ssh_binary, *options, "127.0.0.1", *args.ssh_args])
        except KeyboardInterrupt:
            return 130
    finally:
        if "stop" in control:
            loop, stop = control["stop"]
            loop.call_soon_threadsafe(stop.set)
        thread.join(30)
