"""`ssm-tui --demo` gives botocore the sandbox's HOME before botocore is imported.

botocore takes its SSO token folder from HOME once, when it is imported; the demo sets HOME
first and patches nothing, so the sandbox's SSO profile resolves in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from ssm_tui.commands.app import _isolate_demo
from ssm_tui.demo import SandboxProcess

class Box:
    directory = Path(sys.argv[1])
    def install_sso_token(self, home):
        return SandboxProcess(directory=Path(sys.argv[2])).install_sso_token(home)

assert "botocore" not in sys.modules, "botocore imported before the demo's HOME"
_isolate_demo(Box())
import boto3
sts = boto3.Session(profile_name="sso-dev").client("sts", region_name="us-east-1")
print(sts.get_caller_identity()["Account"])
"""


def test_demo_sso_profile_resolves_without_patching_botocore(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env)
    env["HOME"] = str(tmp_path / "user-home")  # no token there: only the demo's HOME has one
    (tmp_path / "demo").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "demo"), str(sandbox.directory)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "333333333333"
    assert (tmp_path / "demo" / "home" / ".aws" / "sso" / "cache").is_dir()
