"""`ssm-tui rdp TARGET [--launch]`: Remote Desktop to a Windows instance over Session Manager.

A port forward to 3389 of the instance on a free local port (or `--local-port`), kept open like
`ssm-tui forward` (a new session when the service ends one), and the RDP client command for it:
printed, or with `--launch` started when one is installed (`xfreerdp3`/`xfreerdp`/`wlfreerdp` on
Linux, `open rdp://...` on macOS, `mstsc` on Windows); when the launched client exits, the forward
ends. Without a client, the exact address and user to paste into one are printed.

Exit status: the launched client's; 0 when stopped with Ctrl-C; 2 for a non-Windows target;
255 when the target cannot be found or the forward cannot open.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssm_tui.plugin.forwarding import ForwardSpec

EXIT_FAILURE = 255
RDP_PORT = 3389
DEFAULT_USER = "Administrator"
LINUX_CLIENTS = ("xfreerdp3", "xfreerdp", "wlfreerdp3", "wlfreerdp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("target", metavar="TARGET", help="Windows instance id or Name tag")
    parser.add_argument("--profile", "-p", action="append", metavar="P", help="where to look")
    parser.add_argument("--regions", nargs="+", metavar="REGION", help="extra regions")
    parser.add_argument("--local-port", type=int, default=0, metavar="PORT", help="default: free")
    parser.add_argument("--user", "-u", default=DEFAULT_USER, help="Windows user (Administrator)")
    parser.add_argument("--launch", action="store_true", help="start the RDP client")


def client_command(
    port: int,
    user: str,
    platform: str = sys.platform,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str] | None:
    """The RDP client to start for 127.0.0.1:port on this platform (None: none installed)."""
    address = f"127.0.0.1:{port}"
    if platform == "darwin" and which("open"):
        # Microsoft's rdp URI: "rdp://full%20address=s:HOST:PORT&username=s:USER"
        query = "&".join(
            f"{urllib.parse.quote(k)}=s:{urllib.parse.quote(v, safe=':')}"
            for k, v in (("full address", address), ("username", user))
        )
        return ["open", f"rdp://{query}"]
    if platform.startswith("win") and which("mstsc"):
        return ["mstsc", f"/v:{address}"]
    for name in LINUX_CLIENTS:
        path = which(name)
        if path:
            return [path, f"/v:{address}", f"/u:{user}", "/cert:ignore"]
    return None


def _fail(message: str, hint: str = "", code: int = EXIT_FAILURE) -> int:
    from ssm_tui.commands.list_cmd import printable

    print(f"ssm-tui rdp: {printable(message)}", file=sys.stderr)
    if hint:
        print(f"  hint: {printable(hint)}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import targets
    from ssm_tui.plugin.forwarding import ForwardSpec

    if not 0 <= args.local_port <= 65535:
        return _fail("--local-port is a number from 1 to 65535", code=2)
    try:
        fleet = targets.load_fleet(args.profile, args.regions or ())
        instance = targets.one_target(fleet.instances, args.target)
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    if instance.platform_type != "Windows":
        return _fail(
            f"{instance.name} ({instance.instance_id}) is a {instance.platform_type} instance",
            "RDP is for Windows; use `ssm-tui ssh` or `ssm-tui connect`",
            code=2,
        )
    spec = ForwardSpec(
        name=f"rdp {instance.name or instance.instance_id}",
        target=instance.instance_id,
        profile=instance.profile,
        region=instance.region,
        remote_port=RDP_PORT,
        local_port=args.local_port,
    )
    try:
        return asyncio.run(_rdp(spec, args.user, args.launch))
    except KeyboardInterrupt:
        return 0


async def _rdp(spec: ForwardSpec, user: str, launch: bool) -> int:
    from ssm_tui.commands.list_cmd import printable
    from ssm_tui.plugin.forwarding import ForwardStatus, ForwardStopped, keep_forward

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    opened = asyncio.Event()
    state: list[str] = [""]

    def show(status: ForwardStatus) -> None:
        if status.state == "open" and not opened.is_set():
            opened.set()
        if status.state != state[0] and status.state in ("restarting", "open") and state[0]:
            print(f"ssm-tui rdp: session {status.state}", file=sys.stderr, flush=True)
        state[0] = status.state

    status = ForwardStatus()
    forward = asyncio.create_task(keep_forward(spec, status, stop, show))
    waiter = asyncio.create_task(opened.wait())
    await asyncio.wait({forward, waiter}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    try:
        if forward.done():
            forward.result()  # ForwardStopped: the reason
            return 0
        port = status.local_port
        command = client_command(port, user)
        print(printable(f"RDP to {spec.name[4:]} ({spec.target}) on 127.0.0.1:{port} as {user}"))
        if command is None:
            print(f"  no RDP client found: connect one to 127.0.0.1:{port}, user {user}")
        else:
            print("  " + printable(" ".join(command)))
        sys.stdout.flush()
        if launch and command is not None:
            client = await asyncio.create_subprocess_exec(*command)
            ended = asyncio.create_task(client.wait())
            await asyncio.wait({ended, forward}, return_when=asyncio.FIRST_COMPLETED)
            if client.returncode is None:
                client.terminate()
                await client.wait()
            code = client.returncode or 0
            stop.set()
        elif launch:
            print("  --launch: no RDP client to start (xfreerdp, wlfreerdp, open or mstsc)")
        await forward
    except ForwardStopped as exc:
        return _fail(str(exc))
    finally:
        stop.set()
        waiter.cancel()
        if not forward.done():
            await forward
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    return code
