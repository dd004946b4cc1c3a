"""Settings hooks: which command an event runs, its JSON on stdin, and a hook that hangs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ssm_tui.aws.audit import SessionEvent, hooks_for, run_hook
from ssm_tui.aws.settings import load_settings

EVENT = SessionEvent(
    kind="pattern",
    session_id="bob-0123456789abcdef0",
    owner="bob",
    owner_hint="",
    owner_arn="arn:aws:sts::222222222222:assumed-role/SSMOperator/bob",
    target="i-0abc",
    instance_name="$(touch /tmp/pwned) `id`",
    profile="prod",
    account_id="222222222222",
    region="us-east-1",
    line="sudo -i",
    pattern="sudo ",
)


def test_pattern_hook_gets_the_event_on_stdin_never_on_its_command_line(tmp_path: Path) -> None:
    out = tmp_path / "event.json"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[audit]\non_session_start = "true"\n[[audit.on_pattern]]\npattern = "sudo "\n'
        f"command = \"cat > '{out}'\"\n"
        '[[audit.on_pattern]]\npattern = "rm -rf"\ncommand = "false"\n'
    )
    audit = load_settings(config).audit
    (command,) = hooks_for(EVENT, audit)
    import asyncio

    run = asyncio.run(run_hook(command, EVENT))
    assert run.returncode == 0
    assert json.loads(out.read_text()) == EVENT.as_json()


def test_a_hanging_hook_is_killed_with_what_it_started(tmp_path: Path) -> None:
    import asyncio

    pid_file = tmp_path / "pid"
    run = asyncio.run(run_hook(f"sleep 60 & echo $! > '{pid_file}'; wait", EVENT, timeout=1))
    assert run.returncode == -9 and "timed out" in run.stderr
    child = int(pid_file.read_text())
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        asyncio.run(asyncio.sleep(0.05))
    else:
        raise AssertionError("the hook's child outlived it")


def test_unknown_audit_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    import pytest

    from ssm_tui.aws.errors import ConfigError

    config = tmp_path / "config.toml"
    config.write_text('[audit]\non_session_stat = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "on_session_start" in str(caught.value)
