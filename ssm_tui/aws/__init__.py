"""Async AWS services (aiobotocore). They do I/O and return the plain dataclasses of `models`.

Nothing here imports Textual: the UI renders what these return, and the CLI prints it.
"""

from __future__ import annotations


def quiet_sdk_logs() -> None:
    """Keep botocore's and aiobotocore's log records away from the user's terminal.

    Unconfigured, Python's last-resort handler prints every WARNING with its traceback to stderr:
    a bad SSO token gave 3-7 "Refreshing temporary credentials failed during mandatory refresh
    period" tracebacks before the one-line error that `explain` makes of the same failure. A
    `NullHandler` on those loggers only stops that fallback; a handler a user configures on the
    root logger still receives the records.
    """
    import logging

    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).addHandler(logging.NullHandler())
