"""The TUI's log goes to a file, never to the terminal it draws on (issue 13's SIGTERM hang:
the exit watchdog blocked on a warning written to a terminal that had stopped reading)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path


def test_warnings_go_to_the_log_file_not_stderr(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "ssm-tui.log"
    code = (
        "import logging, pathlib, sys\n"
        "from ssm_tui.logfile import log_to_file\n"
        f"print(log_to_file(pathlib.Path({str(path)!r})))\n"
        "logging.getLogger('ssm_tui.ui.app').warning('exit forced [b]literal[/b]')\n"
        "logging.getLogger('botocore.credentials').info('not this one')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # without a handler, logging's last resort prints to stderr
    assert done.stdout.strip() == str(path)
    text = path.read_text()
    assert "WARNING ssm_tui.ui.app MainThread: exit forced [b]literal[/b]" in text
    assert "not this one" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unwritable_log_folder_drops_records_quietly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = (
        "import logging, pathlib\n"
        "from ssm_tui.logfile import log_to_file\n"
        f"print(log_to_file(pathlib.Path({str(blocker / 'ssm-tui.log')!r})))\n"
        "logging.getLogger('ssm_tui').warning('dropped')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert done.stderr == ""
