"""`ssm-tui ssh-proxy [--push-key KEY.pub --user U] TARGET`: ssh's ProxyCommand over SSM.

Starts an `AWS-StartSSHSession` (port 22 of TARGET) itself and runs our plugin on stdin/stdout,
so ssh, scp, sftp, rsync or VS Code get the instance's sshd without a session token on any
command line; the session is terminated when ssh closes the pipe. With `--push-key`, the public
key is first pushed with EC2 Instance Connect for `--user` (ssh's `%r`): that is how the Host
blocks of `ssm-tui ssh-config` log in with plain `ssh web-1`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("target", metavar="TARGET", help="instance id (or Name tag)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--region", help="AWS region")
    parser.add_argument("--port", type=int, default=22, help="sshd port on the instance")
    parser.add_argument("--push-key", type=Path, metavar="KEY.pub", help="push this key first")
    parser.add_argument("--user", help="OS user the pushed key is for (ssh's %%r)")


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import connect
    from ssm_tui.commands.targets import quiet_botocore

    quiet_botocore()
    # A session of our own: whoever ends ssh's process group (a closed terminal, the app's pane
    # hanging up and then SIGKILLing the group's leftovers) must not kill us in the middle of
    # TerminateSession. ssh's end still reaches us: stdin closes, and we end the session.
    with contextlib.suppress(OSError):
        os.setsid()
    if args.push_key is not None:
        if not args.user:
            print("ssm-tui ssh-proxy: --push-key needs --user", file=sys.stderr)
            return 255
        try:
            key = args.push_key.read_text(encoding="utf-8").strip()
            asyncio.run(ssh.push_key(args.profile, args.region, args.target, args.user, key))
        except OSError as exc:
            print(f"ssm-tui ssh-proxy: cannot read {args.push_key}: {exc}", file=sys.stderr)
            return 255
        except SsmTuiError as exc:
            print(f"ssm-tui ssh-proxy: could not push the key: {exc}", file=sys.stderr)
            return 255
    session = argparse.Namespace(
        target=args.target,
        profile=args.profile,
        region=args.region,
        document=ssh.SSH_DOCUMENT,
        parameters=json.dumps({"portNumber": [str(args.port)]}),
        remote_command=None,
        plugin="builtin",
        reason=None,
    )
    return connect.run(session)
