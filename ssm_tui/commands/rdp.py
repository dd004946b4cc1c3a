"""`ssm-tui rdp TARGET [--launch]`: Remote Desktop to a Windows instance over Session Manager.

A port forward to 3389 of the instance on a free local port (or `--local-port`), kept open like
`ssm-tui forward` (a new session when the service ends one), and the RDP client command for it:
printed, or with `--launch` started when one is installed (`xfreerdp3`/`xfreerdp`/`wlfreerdp` on
Linux, `open rdp://...` on macOS, `mstsc` on Windows); when the launched client exits, the forward
ends. Without a client, the exact address and user to paste into one are printed.

`--password` prints the Administrator password (EC2 GetPasswordData, decrypted here with the key
pair's private key: `--key`, else `rdp_key` in the settings for the instance or its profile, else
asked for on a terminal; `aws/rdp_password.py`), `--copy` puts it on the clipboard instead.

Exit status: the launched client's; 0 when stopped with Ctrl-C; 2 for a non-Windows target;
255 when the target cannot be found, the password cannot be read, or the forward cannot open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
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
    parser.add_argument(
        "--password", action="store_true", help="print the Administrator password (GetPasswordData)"
    )
    parser.add_argument("--copy", action="store_true", help="copy the password to the clipboard")
    parser.add_argument(
        "--key", metavar="PEM", help="the key pair's private key (default: rdp_key in settings)"
    )


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
    key = None
    if args.password or args.copy:
        try:
            key = _key_file(instance, args.key)
        except SsmTuiError as exc:
            return _fail(exc.message, exc.hint)
    spec = ForwardSpec(
        name=f"rdp {instance.name or instance.instance_id}",
        target=instance.instance_id,
        profile=instance.profile,
        region=instance.region,
        remote_port=RDP_PORT,
        local_port=args.local_port,
    )
    try:
        return asyncio.run(_rdp(spec, args.user, args.launch, key, args.copy))
    except KeyboardInterrupt:
        return 0


def _key_file(instance: object, given: str | None) -> Path:
    """--key, else the settings' rdp_key for the instance or its profile, else asked for."""
    from ssm_tui.aws.rdp_password import RdpPasswordError, key_path_for
    from ssm_tui.aws.settings import load_settings

    if given:
        return Path(given).expanduser()
    found = key_path_for(
        load_settings(),
        instance.instance_id,  # type: ignore[attr-defined]
        instance.name,  # type: ignore[attr-defined]
        instance.profile,  # type: ignore[attr-defined]
    )
    if found is not None:
        return found
    if not sys.stdin.isatty():
        raise RdpPasswordError(
            "no private key for this instance's password",
            "give --key KEY.pem, or set rdp_key in the settings ([instances.ID] or [profiles.P])",
        )
    answer = input("Private key (.pem) of the instance's key pair: ").strip()
    if not answer:
        raise RdpPasswordError("no key file given")
    return Path(answer).expanduser()


async def _copy(password: str) -> str:
    """The password to the clipboard: the system tool when one exists, else OSC 52."""
    from ssm_tui.ui.clipboard import copy_to_system, system_tool

    argv = system_tool()
    if argv is not None and await copy_to_system(password, argv):
        return f"password copied to the clipboard ({Path(argv[0]).name})"
    if sys.stdout.isatty():
        import base64

        sys.stdout.write(f"\x1b]52;c;{base64.b64encode(password.encode()).decode()}\a")
        return "password sent to the terminal's clipboard (OSC 52)"
    return "no clipboard here: use --password to print it"


async def _rdp(
    spec: ForwardSpec,
    user: str,
    launch: bool,
    key: Path | None = None,
    copy: bool = False,
) -> int:
    from ssm_tui.commands.list_cmd import printable
    from ssm_tui.plugin.forwarding import ForwardStopped

    password = None
    if key is not None:  # before the forward: a wrong key ends here, with nothing opened
        from ssm_tui.aws.errors import SsmTuiError
        from ssm_tui.aws.rdp_password import administrator_password

        try:
            password = await administrator_password(spec.profile, spec.region, spec.target, key)
        except SsmTuiError as exc:
            return _fail(exc.message, exc.hint)
    from ssm_tui.forwards import AdHocForward, Forward, ForwardManager

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    opened = asyncio.Event()
    state: list[str] = [""]

    def show(changed: Forward) -> None:
        status = changed.status
        if status.state == "open" and not opened.is_set():
            opened.set()
        if status.state != state[0] and status.state in ("restarting", "open") and state[0]:
            print(f"ssm-tui rdp: session {status.state}", file=sys.stderr, flush=True)
        state[0] = status.state

    # the same kept-open forward as `ssm-tui forward` and the app's (`ssm_tui/forwards.py`)
    manager = ForwardManager({}, on_change=show)
    manager.add(spec.name, AdHocForward(spec.target, RDP_PORT, profile=spec.profile))
    record = manager.open(spec.name, spec)
    status = record.status
    forward = asyncio.create_task(manager.wait(spec.name))
    waiter = asyncio.create_task(opened.wait())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({forward, waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    try:
        if forward.done():
            forward.result()  # ForwardStopped: the reason
            return 0
        if stop.is_set():
            return 0
        port = status.local_port
        command = client_command(port, user)
        print(printable(f"RDP to {spec.name[4:]} ({spec.target}) on 127.0.0.1:{port} as {user}"))
        if password is not None and not copy:
            print(f"  password: {printable(password)}")
        elif password is not None:
            print("  " + await _copy(password))
        if command is None:
            print(f"  no RDP client found: connect one to 127.0.0.1:{port}, user {user}")
        else:
            print("  " + printable(" ".join(command)))
        sys.stdout.flush()
        if launch and command is not None:
            client = await asyncio.create_subprocess_exec(*command)
            ended = asyncio.create_task(client.wait())
            await asyncio.wait({ended, forward, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if client.returncode is None:
                client.terminate()
                await client.wait()
            code = client.returncode or 0
        elif launch:
            print("  --launch: no RDP client to start (xfreerdp, wlfreerdp, open or mstsc)")
            await asyncio.wait({forward, stopper}, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.wait({forward, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if forward.done():
            forward.result()
    except ForwardStopped as exc:
        return _fail(str(exc))
    finally:
        waiter.cancel()
        stopper.cancel()
        await manager.close_all()
        if not forward.done():
            forward.cancel()
        with contextlib.suppress(asyncio.CancelledError, ForwardStopped):
            await forward
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    return code
