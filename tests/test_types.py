"""mypy over `ssm_tui/` is clean (configured in pyproject's [tool.mypy]).

Why mypy: on this tree it checks everything in ~28 s cold and ~3 s with its incremental cache
(.mypy_cache), where pyright took 100-145 s on the same machine; both found the same kinds of
errors. A fresh interpreter, so the result does not depend on what the suite imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_is_clean_on_the_package() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout
