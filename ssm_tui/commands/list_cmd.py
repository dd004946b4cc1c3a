"""`ssm-tui` subcommand module (stub: its owner replaces it)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""


def run(args: argparse.Namespace) -> int:
    print("not implemented yet")
    return 2
