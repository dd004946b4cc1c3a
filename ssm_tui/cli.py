"""The `ssm-tui` entry point: parses the command line and hands off to one `commands` module.

`ssm-tui` alone runs the app on the user's AWS config; `ssm-tui --demo` runs it against a sandbox
it starts in the background. Subcommands are for scripting: list, connect, history, logs, sandbox.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from ssm_tui import __version__

# subcommand -> (module under ssm_tui.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_cmd", "list managed instances of one or more profiles"),
    "connect": ("connect", "start a session on an instance (shell, command or port forwarding)"),
    "history": ("history", "list Session Manager sessions (AWS and the local record)"),
    "logs": ("logs", "print the transcript of a session from CloudWatch Logs or S3"),
    "run": ("run", "run a shell script on many instances (Run Command), results as a table"),
    "cp": ("cp", "copy files to/from an instance (scp over SSH over Session Manager)"),
    "ssh": ("ssh", "ssh to an instance over Session Manager (key pushed with Instance Connect)"),
    "ssh-config": ("ssh_config", "print (or --write) ssh Host blocks for the fleet"),
    "ssh-proxy": ("ssh_proxy", "ssh ProxyCommand: an AWS-StartSSHSession on stdin/stdout"),
    "audit": ("audit", "search transcripts and watch sessions across every profile and account"),
    "rdp": ("rdp", "Remote Desktop to a Windows instance (port 3389 forwarded, client started)"),
    "forward": ("forward", "keep a port forward open (named in settings, or to a remote host)"),
    "login": ("login", "log an SSO profile in, as `aws sso login` does (device login)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssm-tui",
        description="A keyboard-driven terminal UI for AWS Systems Manager Session Manager.",
    )
    parser.add_argument("--version", action="version", version=f"ssm-tui {__version__}")
    app = importlib.import_module("ssm_tui.commands.app")
    app.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(f"ssm_tui.commands.{module}").add_arguments(sub_parser)
    sub.add_parser(
        "sandbox",
        help="run the local AWS sandbox (moto + Session Manager); --help for its options",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C and a closed output pipe end it quietly, never with a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(file=sys.stderr)  # the ^C the terminal echoed stays on its own line
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # `ssm-tui list --json | head -2`: the reader has all it wanted. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again, and exit as a tool
        # killed by SIGPIPE would (128 + 13).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    from ssm_tui.aws import quiet_sdk_logs

    quiet_sdk_logs()  # the commands report AWS failures themselves, in one line each
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        # The sandbox has its own parser; the app imports nothing of it otherwise.
        from ssm_tui.extras import sandbox_missing_message

        if (message := sandbox_missing_message()) is not None:
            print(message, file=sys.stderr)
            return 2
        from ssm_tui.sandbox.__main__ import main as sandbox_main

        return sandbox_main(args_list[1:])
    parser = build_parser()
    script_words = None
    if args_list[:1] == ["run"] and "--" in args_list:  # `run ... -- SCRIPT`: the script is ours
        cut = args_list.index("--")
        args_list, script_words = args_list[:cut], args_list[cut + 1 :]
    args = parser.parse_args(args_list)
    if script_words is not None:
        args.script_words = script_words
    if args.command is None:
        module = "app"
    else:
        module = SUBCOMMANDS[args.command][0]
    return int(importlib.import_module(f"ssm_tui.commands.{module}").run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
