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
    if not ssh.supports_ssh(instance):
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
    with tempfile.TemporaryDirectory(prefix="ssm-tui-ssh-") as scratch:
        try:
            options, host = prepare(args, target, args.user or user, Path(scratch))
        except Refused as refused:
            return _fail(*refused.args)
        try:
            return subprocess.call([ssh_binary, *options, host, *args.ssh_args])
        except KeyboardInterrupt:
            return 130
