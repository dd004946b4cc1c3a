"""The `ssm-tui` entry point: parses the command line and hands off to one `commands` module.

`ssm-tui` alone runs the app on the user's AWS config; `ssm-tui --demo` runs it against a sandbox
it starts in the background. Subcommands are for scripting: list, connect, history, logs, sandbox.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ssm_tui import __version__

# subcommand -> (module under ssm_tui.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_cmd", "list managed instances of one or more profiles"),
    "connect": ("connect", "start a session on an instance (shell, command or port forwarding)"),
    "history": ("history", "list Session Manager sessions (AWS and the local record)"),
    "logs": ("logs", "print the transcript of a session from CloudWatch Logs or S3"),
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
    args = parser.parse_args(args_list)
    if args.command is None:
        module = "app"
    else:
        module = SUBCOMMANDS[args.command][0]
    return int(importlib.import_module(f"ssm_tui.commands.{module}").run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
