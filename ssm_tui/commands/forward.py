"""`ssm-tui forward NAME` or `ssm-tui forward TARGET --remote-port P`: a port forward kept open.

NAME is a `[forwards.NAME]` table of the settings (`aws/settings.py`); otherwise TARGET (an
instance id or Name tag in any profile) with `--remote-port`, and `--remote-host` for a host only
that node reaches (AWS-StartPortForwardingSessionToRemoteHost: a database behind a bastion, a
Raspberry Pi behind one registered `mi-` node). The local port stays open while the command
runs: when the service closes the session (TerminateSession, idle timeout, agent restart) a new
one is started on the same port (`plugin/forwarding.py`). A status line shows connections, bytes
and since when; on a terminal it is redrawn in place, otherwise one line per change of state.
`--list` prints the named forwards. Ctrl-C ends it, and its session.

Exit status: 0 when stopped by the user, 2 for a bad name or arguments, 255 when the first
session could not start or the local port could not be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssm_tui.forwards import ForwardManager
    from ssm_tui.plugin.forwarding import ForwardSpec

EXIT_FAILURE = 255


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("name", nargs="?", metavar="NAME|TARGET", help="a [forwards.NAME] or node")
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="where to look")
    parser.add_argument("--regions", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--remote-host", metavar="HOST", help="a host the node reaches")
    parser.add_argument("--remote-port", type=int, metavar="PORT", help="port on the node/host")
    parser.add_argument("--local-port", type=int, metavar="PORT", help="local port (default: free)")
    parser.add_argument("--list", action="store_true", help="list the named forwards")


def _fail(message: str, hint: str = "", code: int = EXIT_FAILURE) -> int:
    from ssm_tui.commands.list_cmd import printable

    print(f"ssm-tui forward: {printable(message)}", file=sys.stderr)
    if hint:
        print(f"  hint: {printable(hint)}", file=sys.stderr)
    return code


def _list(forwards: dict) -> int:
    from ssm_tui.commands.list_cmd import printable

    if not forwards:
        print("no named forwards: add a [forwards.NAME] table to the settings file")
        return 0
    for name, item in sorted(forwards.items()):
        where = f"{item.remote_host}:{item.remote_port}" if item.remote_host else item.remote_port
        local = item.local_port or "free port"
        print(printable(f"{name}: 127.0.0.1:{local} -> {where} via {item.target}"))
    return 0


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.settings import ForwardSettings, load_settings
    from ssm_tui.commands import targets

    try:
        settings = load_settings()
    except SsmTuiError as exc:
        return _fail(str(exc), code=2)
    if args.list:
        return _list(settings.forwards)
    if not args.name:
        return _fail("give a forward NAME or a TARGET", "ssm-tui forward --list", code=2)
    named = settings.forwards.get(args.name)
    if named is None and args.remote_port is None:
        known = ", ".join(sorted(settings.forwards)) or "none"
        return _fail(
            f"no forward named {args.name!r} (named forwards: {known})",
            "or give a TARGET with --remote-port (and --remote-host)",
            code=2,
        )
    if named is None:
        named = ForwardSettings(
            target=args.name,
            remote_port=args.remote_port,
            remote_host=args.remote_host,
            local_port=args.local_port or 0,
        )
    else:
        overrides = {
            "remote_host": args.remote_host,
            "remote_port": args.remote_port,
            "local_port": args.local_port,
        }
        named = named.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if not 1 <= named.remote_port <= 65535 or not 0 <= named.local_port <= 65535:
        return _fail("a port is a number from 1 to 65535", code=2)
    profiles = args.profile or ([named.profile] if named.profile else None)
    try:
        fleet = targets.load_fleet(profiles, args.regions or ())
        instance = targets.one_target(fleet.instances, named.target)
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    from ssm_tui.forwards import ForwardManager, spec_for

    manager = ForwardManager({args.name: named})
    try:
        return asyncio.run(_forward(manager, spec_for(args.name, named, instance)))
    except KeyboardInterrupt:
        return 0


async def _forward(manager: ForwardManager, spec: ForwardSpec) -> int:
    """Run the one forward through the manager the app uses too, printing its status line."""
    from ssm_tui.commands.list_cmd import printable
    from ssm_tui.forwards import Forward, status_of
    from ssm_tui.plugin.forwarding import ForwardStopped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    live = sys.stderr.isatty()
    last: list[str] = [""]

    def show(forward: Forward) -> None:
        status = forward.status
        if forward.error:
            return  # a failure is printed once, below
        line = printable(status_of(forward))
        if live:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
            return
        key = (status.state, status.session_id, status.message)
        if str(key) != last[0]:  # not a tty: one line per change of state, no byte counts
            last[0] = str(key)
            print(line, file=sys.stderr, flush=True)

    manager.on_change = show
    manager.open(spec.name, spec)
    stopper = asyncio.create_task(stop.wait())
    waiter = asyncio.create_task(manager.wait(spec.name))
    try:
        await asyncio.wait({stopper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            await manager.close(spec.name)
        try:
            await waiter
        except ForwardStopped as exc:
            if live:
                sys.stderr.write("\n")
            return _fail(str(exc))
    finally:
        stopper.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    if live:
        sys.stderr.write("\n")
    return 0
