"""`ssm-tui ssh-config [--write FILE]`: ssh Host blocks for the fleet, so plain ssh/scp/sftp work.

One block per Online Linux/macOS instance, named by its Name tag (when that is a usable ssh host
name, unique in the fleet) and by its id. Each block runs `ssm-tui ssh-proxy` as ProxyCommand,
which pushes ssm-tui's own key pair (made once, in its data folder) with EC2 Instance Connect for
the user ssh logs in as, then opens an `AWS-StartSSHSession`. `--write FILE` writes the blocks to
a file ssm-tui owns (it refuses to overwrite one it did not write) and says how to `Include` it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HEADER = "# Written by `ssm-tui ssh-config`: regenerated on every run, edits are lost."
_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="repeatable")
    parser.add_argument("--regions", "-r", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--filter", "-f", metavar="TEXT", help="only these instances")
    parser.add_argument("--write", type=Path, metavar="FILE", help="write the blocks to FILE")


def host_blocks(instances: list, key: Path) -> str:
    from ssm_tui.aws import ssh

    usable = [i for i in instances if i.ping_status == "Online" and i.supports_ssh]
    names: dict[str, int] = {}
    for instance in usable:
        names[instance.name] = names.get(instance.name, 0) + 1
    lines = [HEADER, ""]
    for instance in sorted(usable, key=lambda i: (i.name.casefold(), i.instance_id)):
        aliases = [instance.instance_id]
        if _HOST_NAME.match(instance.name) and names[instance.name] == 1:
            aliases.insert(0, instance.name)
        push = key if ssh.supports_instance_connect(instance) else None
        proxy = ssh.proxy_command(
            ssh.proxy_argv(instance, push_key_file=push and Path(f"{key}.pub"))
        )
        lines += [
            f"# {_comment(instance.name)} - {instance.profile} {instance.region} "
            f"{_comment(instance.platform_name)}",
            f"Host {' '.join(aliases)}",
            f"    HostName {instance.instance_id}",
            f"    User {ssh.default_user(instance)}",
            f"    HostKeyAlias {instance.instance_id}",
            f"    UserKnownHostsFile {ssh.known_hosts()}",
            "    StrictHostKeyChecking accept-new",
            f"    IdentityFile {key}",
            "    IdentitiesOnly yes",
            f"    ProxyCommand {proxy}",
            "",
        ]
    return "\n".join(lines)


def _comment(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws import ssh
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets
    from ssm_tui.commands.run import _print_scope_error

    try:
        fleet = targets.load_fleet(args.profile, args.regions or ())
    except SsmTuiError as exc:
        print(f"ssm-tui ssh-config: {exc}", file=sys.stderr)
        return 2
    for error in fleet.errors:
        _print_scope_error(error)
    instances = targets.by_filter(fleet.instances, args.filter) if args.filter else fleet.instances
    text = host_blocks(list(instances), ssh.managed_key())
    if args.write is None:
        sys.stdout.write(text)
        return 1 if fleet.errors else 0
    path = args.write.expanduser()
    if path.exists() and not path.read_text(encoding="utf-8", errors="replace").startswith(HEADER):
        print(
            f"ssm-tui ssh-config: {path} exists and was not written by ssm-tui; not overwritten",
            file=sys.stderr,
        )
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(
        f"wrote {text.count(chr(10) + 'Host ')} host(s) to {path}\n"
        f"  add this line at the top of ~/.ssh/config:  Include {path.resolve()}",
        file=sys.stderr,
    )
    return 1 if fleet.errors else 0
