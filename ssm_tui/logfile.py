"""Where the TUI's log goes: a file, never the terminal the app is drawing on.

With no handler configured, Python's logging falls back to writing warnings to stderr, which
in the TUI is the screen: a warning tears the frame, and once the terminal stops reading the
write blocks, which is how the exit watchdog once hung on its own `log.warning` and outlived
SIGTERM. `ssm-tui` therefore sends every record to `ssm-tui.log` in the user's log folder
(platformdirs), rotated, and to nowhere if that folder cannot be written.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

APP_NAME = "ssm-tui"
MAX_BYTES = 1_000_000
BACKUPS = 2
FORMAT = "%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s"


def default_log_path() -> Path:
    return platformdirs.user_log_path(APP_NAME) / "ssm-tui.log"


def log_to_file(path: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Point the root logger at `path` (default: the user's log folder); the path, or None
    when it cannot be opened (records are then dropped rather than drawn on the screen)."""
    path = path or default_log_path()
    root = logging.getLogger()
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
        os.chmod(path, 0o600)  # session ids and targets: the user's own business
    except OSError:
        handler = logging.NullHandler()
        path = None
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "aiobotocore", "urllib3", "asyncio", "websockets"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return path
