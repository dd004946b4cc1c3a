"""`python -m ssm_tui.sandbox` / `ssm-tui sandbox`: run the local AWS sandbox in the foreground.

Argument parsing stays free of moto imports so `--help` and bad flags answer at once.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

DESCRIPTION = (
    "Run a local AWS on loopback: moto plus the Session Manager operations, the data-channel "
    "websocket, the IAM Identity Center portal and a seeded multi-account fleet. Prints what it "
    "serves, then one line starting with SSM_TUI_SANDBOX_READY and a JSON object."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssm-tui sandbox", description=DESCRIPTION)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--env-file", type=Path, help="where to write the KEY=VALUE env file")
    parser.add_argument(
        "--dir", type=Path, dest="directory", help="folder for config files (default: temporary)"
    )
    parser.add_argument("--instances", type=_positive, default=40, help="fleet size (default 40)")
    parser.add_argument("--seed", type=int, default=42, help="fleet seed (default 42)")
    parser.add_argument("--latency", type=_non_negative, default=0, metavar="MS")
    parser.add_argument("--throttle", type=_fraction, default=0.0, metavar="P")
    parser.add_argument("--broken-profile", metavar="NAME")
    parser.add_argument("--drop-sessions-after", type=_seconds, metavar="S")
    parser.add_argument(
        "--socket-lifetime",
        type=_seconds,
        metavar="S",
        help="close every data-channel websocket with code 1000 after S seconds, as AWS does "
        "about hourly (the client must ResumeSession; default: never)",
    )
    parser.add_argument(
        "--data-channel-outage",
        type=_seconds,
        metavar="S",
        help="for the first S seconds every data-channel open fails "
        '(at run time: POST /_sandbox/faults {"data_channel_outage": S})',
    )
    parser.add_argument(
        "--data-channel-latency",
        type=_non_negative,
        default=0,
        metavar="MS",
        help="delay every data-channel frame by MS in each direction (RTT + 2 x MS)",
    )
    parser.add_argument(
        "--sso-cache",
        type=Path,
        metavar="DIR",
        help="botocore's SSO token cache to write into (default ~/.aws/sso/cache)",
    )
    parser.add_argument(
        "--sso-token",
        choices=("valid", "expired", "absent"),
        default="valid",
        help="the seeded sso-session's login: valid (default), expired or absent; then log in "
        "with the device flow (`ssm-tui login sso-dev`, or L in the app)",
    )
    parser.add_argument(
        "--kms",
        action="store_true",
        help="KMS-encrypted sessions: a key per account in the Session Manager preferences",
    )
    parser.add_argument(
        "--agent-start-delay",
        type=_non_negative_float,
        default=None,
        metavar="S",
        help="seconds the agent waits before it first reads a shell's output (default 1, as AWS)",
    )
    parser.add_argument(
        "--audit-history",
        type=_non_negative,
        nargs="?",
        const=30,
        default=0,
        metavar="DAYS",
        help="seed past sessions of several people over DAYS (default 30) for audit search/watch",
    )
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="stop when stdin reaches end of file (a parent holding the pipe died or closed it)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ignore_callers_aws_environment(environ: dict[str, str] | None = None) -> list[str]:
    """Drop every AWS_* variable from this process's environment; return the names dropped.

    moto and botocore inside the sandbox read them: a caller's `AWS_PROFILE=work` (a profile only
    their own config has) ended in ProfileNotFound, their keys or region would leak into moto's
    defaults. The sandbox is its own AWS; what it serves is in its env file.
    """
    env = os.environ if environ is None else environ
    dropped = [name for name in env if name.startswith("AWS_")]
    for name in dropped:
        del env[name]
    return dropped


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ignore_callers_aws_environment()
    from ssm_tui.sandbox.world import PROFILES

    if not _is_loopback(args.host):
        parser.error(f"--host {args.host}: the sandbox serves loopback only")
    names = [profile.name for profile in PROFILES]
    if args.broken_profile and args.broken_profile not in names:
        parser.error(f"--broken-profile {args.broken_profile}: not one of {', '.join(names)}")
    from ssm_tui.sandbox.server import Options, run

    if args.agent_start_delay is not None:
        from ssm_tui.sandbox import shell

        shell.AGENT_START_DELAY = args.agent_start_delay

    options = Options(
        host="127.0.0.1" if args.host == "localhost" else args.host,
        port=args.port,
        env_file=args.env_file,
        directory=args.directory,
        instances=args.instances,
        seed=args.seed,
        latency_ms=args.latency,
        throttle=args.throttle,
        broken_profile=args.broken_profile,
        drop_sessions_after=args.drop_sessions_after,
        socket_lifetime=args.socket_lifetime,
        data_channel_outage=args.data_channel_outage,
        data_channel_latency=args.data_channel_latency,
        sso_cache=args.sso_cache,
        exit_with_stdin=args.exit_with_stdin,
        kms=args.kms,
        audit_history=args.audit_history,
        sso_token=args.sso_token,
    )
    try:
        return run(options)
    except OSError as error:
        print(f"ssm-tui sandbox: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    code = main()
    # Everything is shut down and flushed by now; skip the interpreter's teardown of moto's large
    # module state (about a second), so stopping the sandbox is as quick as starting it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
