"""Run Command through boto3 against the sandbox: the script really runs, as the agent runs it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.run16.conftest import prod_instance, wait_for

SHELL = "AWS-RunShellScript"
FINAL = {"Success", "Failed", "TimedOut", "Cancelled"}


def _send(ssm: Any, instances: list[str], commands: list[str], **kwargs: Any) -> str:
    response = ssm.send_command(
        InstanceIds=instances,
        DocumentName=kwargs.pop("document", SHELL),
        Parameters={"commands": commands, **kwargs.pop("parameters", {})},
        **kwargs,
    )
    return response["Command"]["CommandId"]


def _finished(ssm: Any, command_id: str) -> dict[str, dict[str, Any]]:
    def check() -> dict[str, dict[str, Any]] | None:
        page = ssm.list_command_invocations(CommandId=command_id, Details=True)
        items = page["CommandInvocations"]
        if items and all(item["Status"] in FINAL for item in items):
            return {item["InstanceId"]: item for item in items}
        return None

    return wait_for(check, what=f"command {command_id}")


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def test_the_script_runs_in_the_instance_as_the_agent_writes_it(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    web1, api1 = prod_instance("web-1"), prod_instance("api-1")
    commands = [
        'echo "on $AWS_SSM_INSTANCE_ID cmd $SSM_COMMAND_ID"',
        'echo "script $0"',
        'cat "$0"',
    ]
    command_id = _send(ssm, [web1.instance_id, api1.instance_id], commands)
    done = _finished(ssm, command_id)
    assert set(done) == {web1.instance_id, api1.instance_id}  # only those (moto adds every EC2)
    for instance in (web1, api1):
        item = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance.instance_id)
        assert item["Status"] == "Success" and item["ResponseCode"] == 0
        lines = item["StandardOutputContent"].splitlines()
        assert lines[0] == f"on {instance.instance_id} cmd {command_id}"
        script = lines[1].removeprefix("script ")
        assert script.endswith(
            f"/{instance.instance_id}/document/orchestration/{command_id}"
            "/awsrunShellScript/0.awsrunShellScript/_script.sh"
        )
        assert lines[2:] == commands  # joined with newlines, run with `sh -c <file>`
        assert item["PluginName"] == "aws:runShellScript"
        assert item["ExecutionStartDateTime"] and item["ExecutionEndDateTime"]
    listed = ssm.list_commands(CommandId=command_id)["Commands"][0]
    assert listed["Status"] == "Success"
    assert (listed["TargetCount"], listed["CompletedCount"], listed["ErrorCount"]) == (2, 2, 0)


def test_exit_codes_stderr_and_statuses(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    web2 = prod_instance("web-2")
    command_id = _send(ssm, [web2.instance_id], ["echo out", "echo oops >&2", "exit 3"])
    item = _finished(ssm, command_id)[web2.instance_id]
    plugin = item["CommandPlugins"][0]
    assert (item["Status"], plugin["ResponseCode"]) == ("Failed", 3)
    assert plugin["Output"] == "out\n\n----------ERROR-------\noops\n"
    full = ssm.get_command_invocation(CommandId=command_id, InstanceId=web2.instance_id)
    assert (full["StandardOutputContent"], full["StandardErrorContent"]) == ("out\n", "oops\n")
    assert ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"] == "Failed"


def test_output_is_truncated_at_the_agents_limits(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    web1 = prod_instance("web-1")
    command_id = _send(ssm, [web1.instance_id], ["head -c 30000 /dev/zero | tr '\\0' x"])
    item = _finished(ssm, command_id)[web1.instance_id]
    assert item["Status"] == "Success"
    output = item["CommandPlugins"][0]["Output"]
    assert len(output) == 2500  # TruncateOutput's capacity, marker included
    assert output.endswith("\n---Output truncated---")
    full = ssm.get_command_invocation(CommandId=command_id, InstanceId=web1.instance_id)
    content = full["StandardOutputContent"]
    assert len(content) == 24000 and content.endswith("x--output truncated--")


def test_max_concurrency_one_runs_them_one_after_another(aws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    ids = [prod_instance(n).instance_id for n in ("web-1", "web-2", "api-1")]
    log = tmp_path / "order.log"
    script = [f'echo "start $AWS_SSM_INSTANCE_ID" >> {log}', "sleep 0.3", f"echo end >> {log}"]
    command_id = _send(ssm, ids, script, MaxConcurrency="1")
    done = _finished(ssm, command_id)
    assert {item["Status"] for item in done.values()} == {"Success"}
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end"] * 3  # never two at once
    assert sorted(line.split()[1] for line in lines[::2]) == sorted(ids)


def test_max_errors_stops_sending_to_the_rest(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    ids = [prod_instance(n).instance_id for n in ("web-1", "web-2", "api-1")]
    command_id = _send(ssm, ids, ["exit 1"], MaxConcurrency="1", MaxErrors="0")
    statuses = sorted(item["Status"] for item in _finished(ssm, command_id).values())
    assert statuses == ["Cancelled", "Cancelled", "Failed"]
    assert ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"] == "Failed"


@pytest.mark.slow
def test_execution_timeout_and_cancel(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    web1, web2 = prod_instance("web-1"), prod_instance("web-2")
    timed = _send(ssm, [web1.instance_id], ["sleep 60"], parameters={"executionTimeout": ["5"]})
    cancelled = _send(ssm, [web2.instance_id], ["echo started", "sleep 60"])
    wait_for(
        lambda: (
            ssm.get_command_invocation(CommandId=cancelled, InstanceId=web2.instance_id)["Status"]
            == "InProgress"
        ),
        what="the second command to start",
    )
    ssm.cancel_command(CommandId=cancelled)
    item = _finished(ssm, cancelled)[web2.instance_id]
    assert (item["Status"], item["CommandPlugins"][0]["ResponseCode"]) == ("Cancelled", 137)
    item = _finished(ssm, timed)[web1.instance_id]
    assert (item["Status"], item["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")
    assert item["CommandPlugins"][0]["ResponseCode"] == 137


def test_an_instance_that_is_not_connected_stays_pending(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    lost, web1 = prod_instance("batch-worker"), prod_instance("web-1")
    command_id = _send(ssm, [lost.instance_id, web1.instance_id], ["true"])

    def web1_done() -> bool:
        item = ssm.get_command_invocation(CommandId=command_id, InstanceId=web1.instance_id)
        return item["Status"] == "Success"

    wait_for(web1_done, what="web-1")
    pending = ssm.get_command_invocation(CommandId=command_id, InstanceId=lost.instance_id)
    assert pending["Status"] == "Pending"  # until TimeoutSeconds (delivery), as AWS does
    ssm.cancel_command(CommandId=command_id)
    assert _finished(ssm, command_id)[lost.instance_id]["Status"] == "Cancelled"


def test_documents_per_platform(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    windows, linux = prod_instance("win-ad-01"), prod_instance("web-1")
    shell_on_windows = _send(ssm, [windows.instance_id], ["echo hi"])
    item = _finished(ssm, shell_on_windows)[windows.instance_id]
    assert item["Status"] == "Failed"
    full = ssm.get_command_invocation(CommandId=shell_on_windows, InstanceId=windows.instance_id)
    assert "aws:runShellScript is not supported in current platform" in full["StandardErrorContent"]
    ps_on_windows = _send(
        ssm, [windows.instance_id], ["echo hi"], document="AWS-RunPowerShellScript"
    )
    assert _finished(ssm, ps_on_windows)[windows.instance_id]["Status"] == "Success"
    if shutil.which("pwsh"):
        pytest.skip("PowerShell is installed here: AWS-RunPowerShellScript would run on Linux")
    ps_on_linux = _send(ssm, [linux.instance_id], ["echo hi"], document="AWS-RunPowerShellScript")
    item = _finished(ssm, ps_on_linux)[linux.instance_id]
    assert (item["Status"], item["CommandPlugins"][0]["ResponseCode"]) == ("Failed", 1)
    full = ssm.get_command_invocation(CommandId=ps_on_linux, InstanceId=linux.instance_id)
    assert "fork/exec /usr/bin/pwsh: no such file or directory" in full["StandardErrorContent"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"MaxConcurrency": "0"}, "ValidationException"),
        ({"MaxErrors": "101%"}, "ValidationException"),
        ({"document": "AWS-NoSuchDocument"}, "InvalidDocument"),
        ({"instances": ["unmanaged-legacy"]}, "InvalidInstanceId"),
        ({"instances": ["old-nas"]}, "InvalidInstanceId"),
        ({"commands": []}, "InvalidParameters"),
        ({"parameters": {"nope": ["1"]}}, "InvalidParameters"),
    ],
)
def test_send_command_validations(aws, kwargs: dict[str, Any], code: str) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    names = kwargs.pop("instances", ["web-1"])
    commands = kwargs.pop("commands", ["true"])
    with pytest.raises(ClientError) as error:
        _send(ssm, [prod_instance(n).instance_id for n in names], commands, **kwargs)
    assert _code(error) == code


def test_unknown_command_and_invocation(aws) -> None:  # type: ignore[no-untyped-def]
    ssm = aws("ssm")
    web1 = prod_instance("web-1")
    with pytest.raises(ClientError) as error:
        ssm.get_command_invocation(
            CommandId="00000000-0000-0000-0000-000000000000", InstanceId=web1.instance_id
        )
    assert _code(error) == "InvalidCommandId"
    command_id = _send(ssm, [web1.instance_id], ["true"])
    with pytest.raises(ClientError) as error:
        ssm.get_command_invocation(
            CommandId=command_id, InstanceId=prod_instance("web-2").instance_id
        )
    assert _code(error) == "InvocationDoesNotExist"
    other_account = aws("ssm", profile="sandbox")  # commands belong to their account
    with pytest.raises(ClientError) as error:
        other_account.list_command_invocations(CommandId=command_id)
    assert _code(error) == "InvalidCommandId"
