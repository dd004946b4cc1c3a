"""`ssm-tui cp [-r] SRC DST`: copy files to or from an instance over SSH over Session Manager.

One side is `[USER@]TARGET:path` (TARGET an instance id or Name tag in any profile), the other a
local path. The copy is OpenSSH's `scp` (SFTP protocol) with the same transport as `ssm-tui ssh`:
a throw-away key pushed with EC2 Instance Connect, `AWS-StartSSHSession` through our plugin as
ProxyCommand. scp shows its progress meter on a terminal; the copy is byte-exact.

Where ssh cannot log in (a hybrid `mi-` node has no Instance Connect: without `--identity` no key
of ours is in its authorized_keys), or with `--shell`, one file is copied over a Session Manager
shell channel instead (`shell_copy.py`; SHA-256 checked), with no ssh at all.

Exit status: scp's (0 when copied), 1 when a shell-channel copy failed, 255 when the target
could not be reached.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssm_tui.aws.models import Instance

EXIT_FAILURE = 255
_REMOTE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<target>[^/:]+):(?P<path>.*)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="where to look")
    parser.add_argument("--regions", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--user", "-u", help="OS user (default: the platform's, e.g. ec2-user)")
    parser.add_argument("--identity", "-i", type=Path, metavar="KEY", help="your private key")
    parser.add_argument("-r", dest="recursive", action="store_true", help="copy directories")
    parser.add_argument(
        "--shell", action="store_true", help="copy over the shell channel, not ssh (one file)"
    )
    parser.add_argument("source", metavar="SRC", help="local path or [USER@]TARGET:path")
    parser.add_argument("destination", metavar="DST", help="local path or [USER@]TARGET:path")


def _remote(value: str) -> re.Match[str] | None:
    if value.startswith(("/", "./", "../")):
        return None  # a local path with a colon in it
    return _REMOTE.match(value)


def _fail(message: str, hint: str = "") -> int:
    from ssm_tui.commands.list_cmd import printable

    print(f"ssm-tui cp: {printable(message)}", file=sys.stderr)
    if hint:
        print(f"  hint: {printable(hint)}", file=sys.stderr)
    return EXIT_FAILURE


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets
    from ssm_tui.commands.ssh import Refused, prepare

    source, destination = _remote(args.source), _remote(args.destination)
    if (source is None) == (destination is None):
        return _fail("give exactly one remote side, TARGET:path", "e.g. ssm-tui cp f web-1:/tmp/")
    remote = source or destination
    assert remote is not None
    try:
        fleet = targets.load_fleet(args.profile, args.regions or ())
        instance = targets.one_target(fleet.instances, remote["target"])
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    no_ssh = not ssh.supports_instance_connect(instance) and args.identity is None
    if args.shell or (no_ssh and instance.supports_ssh):
        return _over_shell(args, instance, source is not None, remote["path"])
    scp = shutil.which("scp")
    if scp is None:
        return _fail("OpenSSH's scp is not installed", "install it (Debian: openssh-client)")
    with tempfile.TemporaryDirectory(prefix="ssm-tui-cp-") as scratch:
        try:
            options, host = prepare(
                args, remote["target"], remote["user"] or "", Path(scratch), instance
            )
        except Refused as refused:
            return _fail(*refused.args)
        remote_path = f"{host}:{remote['path']}"
        argv = [scp, *options]
        if args.recursive:
            argv.append("-r")
        if not sys.stdout.isatty():
            argv.append("-q")
        if source is not None:
            argv += ["--", remote_path, args.destination]
        else:
            argv += ["--", args.source, remote_path]
        try:
            return subprocess.call(argv)
        except KeyboardInterrupt:
            return 130


def _over_shell(args: argparse.Namespace, instance: Instance, download: bool, path: str) -> int:
    """One file over the shell channel (no ssh): `shell_copy.py`."""
    from ssm_tui.commands import shell_copy

    if not instance.supports_ssh:
        return _fail(
            f"copying over the shell channel needs a Linux or macOS instance, not "
            f"{instance.platform_type}",
        )
    if args.recursive:
        return _fail("-r needs ssh; over the shell channel cp copies one file at a time")
    try:
        if download:
            shell_copy.download(instance, path, Path(args.destination))
        else:
            shell_copy.upload(instance, Path(args.source), path)
    except shell_copy.CopyFailed as exc:
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
