"""Which plugin runs a session and with what command line: the token stays out of argv."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ssm_tui.aws.models import StartedSession
from ssm_tui.plugin import launcher

STARTED = StartedSession(
    session_id="alice-0123456789abcdef0",
    token_value="secret-token-value",
    stream_url="ws://127.0.0.1:1/v1/data-channel/alice-0123456789abcdef0",
    target="i-0123456789abcdef0",
    region="eu-west-1",
    profile="dev",
    document_name="AWS-StartPortForwardingSession",
    parameters={"portNumber": ["80"]},
    endpoint_url="http://127.0.0.1:1",
)


def test_builtin_gets_the_response_through_a_pipe_never_argv_or_env() -> None:
    launch = launcher.plugin_command(STARTED, "builtin")
    try:
        assert launch.builtin and launch.label == "builtin"
        assert launch.command == [sys.executable, "-m", "ssm_tui.plugin.main"]
        (fd,) = launch.pass_fds
        assert launch.args[:4] == [f"fd:{fd}", "eu-west-1", "StartSession", "dev"]
        assert json.loads(launch.args[4]) == {
            "Target": "i-0123456789abcdef0",
            "DocumentName": "AWS-StartPortForwardingSession",
            "Parameters": {"portNumber": ["80"]},
        }
        assert launch.args[5] == "http://127.0.0.1:1"
        assert launch.env == {}
        assert not any("secret-token-value" in a for a in launch.argv)
        assert json.loads(os.read(fd, 65536))["TokenValue"] == "secret-token-value"
        assert os.read(fd, 1) == b""  # written once, closed for writing
    finally:
        launch.close()
    assert launch.pass_fds == ()
    assert "secret-token-value" not in repr(STARTED)


def test_official_form_keeps_the_token_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = _fake_official(tmp_path)
    launch = launcher.plugin_command(STARTED, str(official))
    assert not launch.builtin and launch.pass_fds == ()
    assert launch.argv[:3] == [str(official), "AWS_SSM_START_SESSION_RESPONSE", "eu-west-1"]
    assert not any("secret-token-value" in a for a in launch.argv)
    assert json.loads(launch.env["AWS_SSM_START_SESSION_RESPONSE"])["TokenValue"] == (
        "secret-token-value"
    )
    assert "secret-token-value" not in repr(launch)


def _fake_official(directory: Path) -> Path:
    path = directory / "session-manager-plugin"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_official_plugin_on_path_is_preferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = _fake_official(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert launcher.resolve_plugin() == [str(official)]
    assert launcher.resolve_plugin("builtin") == launcher.builtin_command()
    assert launcher.resolve_plugin(str(official)) == [str(official)]


def test_without_official_plugin_ours_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert launcher.resolve_plugin() == launcher.builtin_command()


def test_missing_plugin_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(launcher.PluginNotFound, match="not found or not executable"):
        launcher.resolve_plugin(str(tmp_path / "nope"))


def test_status_pipe_for_ours_only_and_its_lines_reach_the_reader(tmp_path: Path) -> None:
    """The app's label source: a pipe the builtin plugin writes its state to; none for the
    official plugin (it has nothing to say). Both ends real, the writer in a child process."""
    import asyncio
    import subprocess

    from ssm_tui.plugin.status import STATUS_FD_ENV, StatusReader

    official = launcher.plugin_command(STARTED, str(_fake_official(tmp_path)), status=True)
    assert official.status_fd is None and STATUS_FD_ENV not in official.env
    launch = launcher.plugin_command(STARTED, "builtin", status=True)
    try:
        assert launch.status_fd is not None
        _response, write_end = launch.pass_fds
        assert launch.env == {STATUS_FD_ENV: str(write_end)}
        assert not os.get_inheritable(launch.status_fd) and not os.get_inheritable(write_end)
        child = (
            "from ssm_tui.plugin.status import StatusWriter\n"
            "w = StatusWriter.from_environment()\n"
            "import os; assert 'SSM_TUI_PLUGIN_STATUS_FD' not in os.environ\n"
            "w.write('reconnecting', 'the connection\\nwas lost'); w.write('bogus', 'x')\n"
            "w.write('connected', 'reconnected after 1.0 s')\n"
        )
        subprocess.run(
            [sys.executable, "-c", child],
            env={**os.environ, **launch.env},
            pass_fds=launch.pass_fds,
            check=True,
        )
        os.close(write_end)
        seen: list[tuple[str, str]] = []

        async def read_all() -> None:
            assert launch.status_fd is not None
            reader = StatusReader(launch.status_fd, lambda *state: seen.append(state))
            launch.status_fd = None  # the reader owns it now
            reader.start()
            while reader.fd is not None:  # closed at the writer's end of file
                await asyncio.sleep(0.01)

        asyncio.run(asyncio.wait_for(read_all(), 10))
        assert seen == [
            ("reconnecting", "the connection was lost"),
            ("connected", "reconnected after 1.0 s"),
        ]
    finally:
        launch.pass_fds = launch.pass_fds[:1]
        launch.close()
