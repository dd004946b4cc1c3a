"""The architecture's layer rules, checked two ways (as harlequin does).

1. import-linter's contracts in pyproject.toml (static import graph).
2. Importing each headless package in a fresh interpreter leaves Textual (and the sandbox's moto)
   out of `sys.modules`, which also catches imports hidden in function bodies run at import time.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ssm_tui

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


def _headless_modules() -> list[str]:
    names = ["ssm_tui.store"] if (ROOT / "ssm_tui" / "store.py").exists() else []
    for package in ("aws", "plugin", "term"):
        path = [str(Path(ssm_tui.__file__).parent / package)]
        names.append(f"ssm_tui.{package}")
        names += [f"ssm_tui.{package}.{m.name}" for m in pkgutil.iter_modules(path)]
    return names


@pytest.mark.parametrize("module", _headless_modules())
def test_headless_module_does_not_load_textual_or_sandbox(module: str) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'moto') "
        "or m.startswith('ssm_tui.sandbox') or m.startswith('ssm_tui.ui')); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"{module} loads {out.stdout.strip()}"


def test_sandbox_does_not_load_textual() -> None:
    code = (
        "import sys, ssm_tui.sandbox.sessions; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
