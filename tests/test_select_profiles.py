"""One rule for which profiles a command works on, and one message when there are none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ssm_tui.aws.errors import SsmTuiError, UnknownProfileError
from ssm_tui.aws.settings import Settings
from ssm_tui.services import Services, select_profiles

CONFIG = """\
[profile b]
region = eu-west-1
[profile a]
region = us-east-1
[profile hidden]
region = us-east-1
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return path


def hiding(*names: str) -> Settings:
    return Settings.model_validate({"profiles": {n: {"hidden": True} for n in names}})


def test_named_profiles_in_order_once_else_every_shown_one(config: Path) -> None:
    settings = hiding("hidden")
    assert [p.name for p in select_profiles(["b", "a", "b"], settings)] == ["b", "a"]
    assert [p.name for p in select_profiles(["hidden"], settings)] == ["hidden"]  # named: kept
    assert [p.name for p in select_profiles(None, settings)] == ["a", "b"]
    with pytest.raises(UnknownProfileError):
        select_profiles(["nope"], settings)


def test_none_is_an_error_with_the_next_step_except_for_the_app(config: Path) -> None:
    settings = hiding("a", "b", "hidden")
    with pytest.raises(SsmTuiError) as raised:
        select_profiles(None, settings)
    assert raised.value.message == "no AWS profiles found"
    assert "aws configure" in raised.value.hint
    assert select_profiles(None, settings, required=False) == []
    assert Services(settings=settings, store=False).load_profiles() == []


@pytest.mark.parametrize(
    "argv", [["list"], ["history"], ["logs", "alice-0123456789abcdef0"], ["audit", "search", "x"]]
)
def test_every_cli_says_the_same_when_there_is_no_profile(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    done = subprocess.run(
        [sys.executable, "-m", "ssm_tui.cli", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == "error: no AWS profiles found"
    assert "aws configure" in done.stderr and "Traceback" not in done.stderr
