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


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets

    ssh_binary = shutil.which("ssh")
    if ssh_binary is None:
        return _fail("OpenSSH's ssh is not installed", "install it (Debian: openssh-client)")
    user, _, target = args.target.rpartition("@")
    user = args.user or user
    if args.identity is not None and not args.identity.is_file():
        return _fail(f"--identity {args.identity}: no such file")
    try:
        fleet = targets.load_fleet(args.profile, args.regions or ())
        instance = targets.one_target(fleet.instances, target)
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    if not ssh.supports_ssh(instance):
        return _fail(
            f"{instance.name} ({instance.instance_id}) is a {instance.platform_type} instance",
            "ssh needs Linux or macOS; use `ssm-tui connect` for a shell",
        )
    user = user or ssh.default_user(instance)
    scratch = tempfile.TemporaryDirectory(prefix="ssm-tui-ssh-")
    try:
        identity = args.identity or ssh.new_key(Path(scratch.name) / "id_ed25519")
        if ssh.supports_instance_connect(instance):
            try:
                key = ssh.public_key(identity)
                asyncio.run(
                    ssh.push_key(instance.profile, instance.region, instance.instance_id, user, key)
                )
            except SsmTuiError as exc:
                return _fail(f"could not push the key: {exc.message}", exc.hint)
        proxy = ssh.proxy_command(ssh.proxy_argv(instance))
        argv = [
            ssh_binary,
            *ssh.ssh_options(instance, user, identity, proxy),
            instance.instance_id,
            *args.ssh_args,
        ]
        try:
            return subprocess.call(argv)
        except KeyboardInterrupt:
            return 130
    finally:
        scratch.cleanup()
