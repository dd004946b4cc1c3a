"""The seam below the UI: `ssm_tui.services`, `ssm_tui.session_manager` and `ssm_tui.aws.context`
import no Textual and nothing of `ssm_tui.ui` (the CLIs and headless tests use them), and no
botocore at import (they are on the first frame's path)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["ssm_tui.services", "ssm_tui.session_manager", "ssm_tui.aws.context"]
)
def test_the_seam_loads_no_textual_no_ui_and_no_botocore(module: str) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'moto', 'botocore', 'aiobotocore') or m.startswith('ssm_tui.ui')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"{module} loads {out.stdout.strip()}"
