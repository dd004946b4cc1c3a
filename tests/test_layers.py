"""The architecture's layer rules, checked two ways (as harlequin does).

1. import-linter's contracts in pyproject.toml (static import graph), run in this process: it
   parses the source, it imports nothing.
2. One fresh interpreter imports every headless module (aws/, plugin/, term/, store.py) in turn and
   reports what each one brought into `sys.modules`: Textual, moto, the sandbox or the UI must not
   appear. That also catches imports hidden in function bodies run at import time. Then it imports
   the sandbox, which must not bring Textual. One subprocess for all of it (it was one per module,
   ~40 interpreters): a module that loads a forbidden one is still named, as the first module of
   the list whose import brought it in.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import ssm_tui

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(ssm_tui.__file__).parent

# What the one interpreter runs: argv[1] is a JSON list of module names.
_PROBE = """
import importlib, json, sys

def forbidden(name, sandbox_too):
    top = name.split(".")[0]
    if top == "textual":
        return True
    return sandbox_too and (
        top == "moto" or name.startswith("ssm_tui.sandbox") or name.startswith("ssm_tui.ui")
    )

report = {}
for module in json.loads(sys.argv[1]):
    before = set(sys.modules)
    importlib.import_module(module)
    report[module] = sorted(m for m in set(sys.modules) - before if forbidden(m, True))
before = set(sys.modules)
importlib.import_module("ssm_tui.sandbox.sessions")
report["ssm_tui.sandbox.sessions"] = sorted(
    m for m in set(sys.modules) - before if forbidden(m, False)
)
print(json.dumps(report))
"""


def test_import_linter_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 broken" in out, out


def _headless_modules() -> list[str]:
    names = ["ssm_tui.store"] if (PACKAGE / "store.py").exists() else []
    for package in ("aws", "plugin", "term"):
        names.append(f"ssm_tui.{package}")
        found = pkgutil.iter_modules([str(PACKAGE / package)])
        names += [f"ssm_tui.{package}.{m.name}" for m in found]
    return names


def test_headless_modules_do_not_load_textual_and_the_sandbox_does_not_load_textual() -> None:
    modules = _headless_modules()
    assert len(modules) > 20, modules  # the walk found the packages
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    report: dict[str, list[str]] = json.loads(out.stdout)
    assert set(report) == {*modules, "ssm_tui.sandbox.sessions"}
    offenders = {module: loaded for module, loaded in report.items() if loaded}
    assert offenders == {}, f"these imports load forbidden modules: {offenders}"


def test_widget_contract_names_every_aws_module_but_the_records() -> None:
    """The forbidden list of the widgets/screens contract is spelled out (import-linter has no
    "all but"): a new module under aws/ must be added to it, or to the allowed records here."""
    allowed = {"ssm_tui.aws.models", "ssm_tui.aws.exceptions"}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if "ssm_tui.ui.widgets" in c.get("source_modules", [])]
    aws = {f"ssm_tui.aws.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE / "aws")])}
    assert allowed <= aws
    assert set(contract["forbidden_modules"]) & aws == aws - allowed
