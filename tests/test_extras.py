"""A lean install (no `sandbox` extra): `--demo` and `ssm-tui sandbox` name the extra to add."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A fresh interpreter in which moto cannot be found, as in `pip install ssm-tui` without extras.
SCRIPT = """
import sys

class NoMoto:
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, NoMoto())
from ssm_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [["--demo"], ["sandbox", "--help"]])
def test_without_the_sandbox_extra_the_message_names_the_command(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'ssm-tui[sandbox]'" in done.stderr
    assert "missing: moto" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
