"""Run Command for the sandbox: SendCommand and friends that really run the script on the instance.

moto's SendCommand records a command and reports every invocation as Success at once, without
running anything (and, given only `InstanceIds`, adds every EC2 instance of the region through an
empty Targets filter). These operations replace moto's SendCommand, ListCommands,
ListCommandInvocations, GetCommandInvocation and add CancelCommand, with the agent's semantics
(amazon-ssm-agent, read for this):

- `agent/plugins/runscript/runscript.go`, `runshellscript.go`: the plugin writes the commands,
  joined with "\\n" plus a final newline, to `<orchestration>/<plugin id>/_script.sh` (mode 0750)
  and runs `sh -c <that path>` in the working directory (an absolute `workingDirectory`, else the
  default one), with `SSM_COMMAND_ID` in the environment; stdout and stderr are pipes, no pty.
- `agent/plugins/pluginutil/pluginutil_unix.go::GetStatus`: exit 0 is Success, 194 SuccessAndReboot,
  137 (the process was killed at the execution timeout or on cancel) TimedOut or Cancelled,
  anything else Failed. `pluginutil.go::ValidateExecutionTimeout`: `executionTimeout` outside
  5..172800 s falls back to 3600.
- `agent/executers/executers.go` + `iohandler.go`: only the first 24000 bytes of stdout and 8000 of
  stderr are kept, then `StringPrefix` cuts to 24000 - len("--output truncated--") and appends
  that suffix (what GetCommandInvocation returns); the plugin's `Output` in ListCommandInvocations
  (Details=true) is `TruncateOutput(stdout, stderr, 2500)` with its ERROR title.
- `runpowershellscript.go` + `appconfig/constants_unix.go`: on Linux, AWS-RunPowerShellScript
  runs `/usr/bin/pwsh -f _script.ps1`; without PowerShell the start fails, exit code 1, Failed,
  "failed to run commands: fork/exec /usr/bin/pwsh: no such file or directory".
- `runpluginutil.go`: a 1.2 document's plugin unknown on the platform (aws:runShellScript on
  Windows) fails with "Plugin with name ... is not supported in current platform".

The sandbox's Windows instances have no PowerShell: like their Session Manager shells (bash behind
a `PS C:\\>` prompt), AWS-RunPowerShellScript on them runs the script with the stand-in shell
(`pwsh` when one is installed). Instances that are managed but not Online stay Pending until the
command's `TimeoutSeconds` (delivery timeout), then TimedOut / DeliveryTimedOut, as AWS does.

The operations run on the front router's event loop (the sandbox's fast path) or, through moto,
on a worker thread; all state is behind one lock and processes are started on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ssm_tui.sandbox import ssm_api
from ssm_tui.sandbox.shell import session_process_groups
from ssm_tui.sandbox.world import Instance, World

STDOUT_LIMIT = 24000
STDERR_LIMIT = 8000
TRUNCATED_SUFFIX = "--output truncated--"
PLUGIN_OUTPUT_LIMIT = 2500
_ERR_TITLE = "\n----------ERROR-------\n"
_TRUNCATE_OUT = "\n---Output truncated---"
_TRUNCATE_ERR = "\n---Error truncated----"

STOPPED_EXIT_CODE = 137
REBOOT_EXIT_CODE = 194
DEFAULT_EXECUTION_TIMEOUT = 3600
MIN_EXECUTION_TIMEOUT = 5
MAX_EXECUTION_TIMEOUT = 172800
DEFAULT_DELIVERY_TIMEOUT = 3600
MAX_INSTANCE_IDS = 50

SHELL_DOCUMENT = "AWS-RunShellScript"
POWERSHELL_DOCUMENT = "AWS-RunPowerShellScript"
# document -> (plugin name, plugin id, script file name)
_DOCUMENTS: dict[str, tuple[str, str, str]] = {
    SHELL_DOCUMENT: ("aws:runShellScript", "awsrunShellScript", "_script.sh"),
    POWERSHELL_DOCUMENT: ("aws:runPowerShellScript", "awsrunPowerShellScript", "_script.ps1"),
}
_PARAMETERS = {"commands", "workingDirectory", "executionTimeout"}
_CONCURRENCY = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
_ERRORS = re.compile(r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$")
_COMMAND_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PWSH_PATHS = ("/usr/bin/powershell", "/usr/bin/pwsh")


@dataclass(slots=True)
class Invocation:
    """One instance's run of a command (one plugin: both documents have exactly one step)."""

    instance: Instance
    status: str = "Pending"
    details: str = "Pending"
    code: int = -1
    stdout: bytes = b""
    stderr: bytes = b""
    start: datetime | None = None
    end: datetime | None = None
    pid: int | None = None
    cancelled: bool = False
    timed_out: bool = False
    task: asyncio.Future[Any] | None = None

    @property
    def done(self) -> bool:
        return self.status not in ("Pending", "InProgress", "Delayed", "Cancelling")


@dataclass(slots=True)
class Command:
    command_id: str
    account_id: str
    region: str
    document_name: str
    parameters: dict[str, list[str]]
    comment: str
    instance_ids: list[str]
    targets: list[dict[str, Any]]
    max_concurrency: str
    max_errors: str
    timeout_seconds: int
    requested: datetime
    invocations: dict[str, Invocation]
    status: str = "Pending"
    delivery_timer: asyncio.TimerHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def concurrency(self) -> int:
        return _limit(self.max_concurrency, len(self.invocations), minimum=1)

    @property
    def allowed_errors(self) -> int:
        return _limit(self.max_errors, len(self.invocations), minimum=0)

    @property
    def error_count(self) -> int:
        return sum(1 for i in self.invocations.values() if i.status in ("Failed", "TimedOut"))


def _limit(value: str, total: int, minimum: int) -> int:
    if value.endswith("%"):
        return max(minimum, total * int(value[:-1]) // 100)
    return max(minimum, int(value))


class CommandStore:
    """Every command of every account and region; runs the invocations on the sandbox's loop."""

    def __init__(self, world: World, agent_dir: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.world = world
        self.agent_dir = agent_dir
        self.loop = loop
        self.lock = threading.RLock()
        self.commands: dict[str, Command] = {}

    # -- scheduling (always on the loop) --

    def schedule(self, command: Command) -> None:
        self.loop.call_soon_threadsafe(self._begin, command)

    def _begin(self, command: Command) -> None:
        with self.lock:
            command.status = "InProgress"
            command.delivery_timer = self.loop.call_later(
                command.timeout_seconds, self._delivery_timeout, command
            )
        self._pump(command)

    def _pump(self, command: Command) -> None:
        """Start Pending invocations on Online instances while concurrency and errors allow."""
        with self.lock:
            invocations = list(command.invocations.values())
            if command.error_count > command.allowed_errors:
                for invocation in invocations:
                    if invocation.status == "Pending":
                        _finish(invocation, "Cancelled", "Cancelled", -1)
            running = sum(1 for i in invocations if i.status == "InProgress")
            for invocation in invocations:
                if running >= command.concurrency:
                    break
                if invocation.status != "Pending" or invocation.instance.ping_status != "Online":
                    continue
                invocation.status = invocation.details = "InProgress"
                invocation.start = _now()
                invocation.task = asyncio.ensure_future(self._run(command, invocation))
                running += 1
            self._settle(command)

    def _settle(self, command: Command) -> None:
        if command.status not in ("Pending", "InProgress") or not all(
            i.done for i in command.invocations.values()
        ):
            return
        statuses = {i.status for i in command.invocations.values()}
        for status in ("Failed", "TimedOut", "Cancelled"):
            if status in statuses:
                command.status = status
                break
        else:
            command.status = "Success"
        if command.delivery_timer is not None:
            command.delivery_timer.cancel()

    def _delivery_timeout(self, command: Command) -> None:
        with self.lock:
            for invocation in command.invocations.values():
                if invocation.status == "Pending":
                    _finish(invocation, "TimedOut", "DeliveryTimedOut", -1)
        self._pump(command)

    def cancel(self, command: Command, instance_ids: list[str] | None) -> None:
        def now() -> None:
            with self.lock:
                for instance_id, invocation in command.invocations.items():
                    if instance_ids and instance_id not in instance_ids:
                        continue
                    if invocation.status == "Pending":
                        _finish(invocation, "Cancelled", "Cancelled", -1)
                    elif invocation.status == "InProgress":
                        invocation.cancelled = True
                        invocation.status = invocation.details = "Cancelling"
                        _kill(invocation.pid)
            self._pump(command)

        self.loop.call_soon_threadsafe(now)

    # -- one invocation --

    async def _run(self, command: Command, invocation: Invocation) -> None:
        try:
            await self._execute(command, invocation)
        except Exception as exc:  # noqa: BLE001 - an agent reports its own failure, never crashes
            invocation.stderr += f"failed to run commands: {exc}".encode()
            with self.lock:
                _finish(invocation, "Failed", "Failed", 1)
        self._pump(command)

    async def _execute(self, command: Command, invocation: Invocation) -> None:
        instance = invocation.instance
        plugin, plugin_id, script_name = _DOCUMENTS[command.document_name]
        windows = instance.platform_type == "Windows"
        if windows and command.document_name == SHELL_DOCUMENT:
            invocation.stderr = (
                f"Plugin with name {plugin} is not supported in current platform. "
                f"Step name: 0.{plugin}"
            ).encode()
            with self.lock:
                _finish(invocation, "Failed", "Failed", 0)
            return
        home = _home(self.world, instance)
        orchestration = (
            self.agent_dir
            / instance.instance_id
            / "document"
            / "orchestration"
            / command.command_id
            / plugin_id
            / f"0.{plugin_id}"
        )
        orchestration.mkdir(parents=True, exist_ok=True)
        script = orchestration / script_name
        script.write_text("\n".join(command.parameters.get("commands", [])) + "\n", "utf-8")
        script.chmod(0o750)
        if command.document_name == POWERSHELL_DOCUMENT:
            pwsh = next((p for p in _PWSH_PATHS if os.path.exists(p)), None) or shutil.which("pwsh")
            if pwsh is not None:
                argv = [pwsh, "-f", str(script)]
            elif windows:
                argv = ["sh", "-c", str(script)]  # the stand-in shell, as the sessions use
            else:
                invocation.stderr = (
                    f"failed to run commands: fork/exec {_PWSH_PATHS[1]}: no such file or directory"
                ).encode()
                with self.lock:
                    _finish(invocation, "Failed", "Failed", 1)
                return
        else:
            argv = ["sh", "-c", str(script)]
        working = _working_directory(command.parameters, home)
        env = _environment(instance, home, command.command_id)
        timeout = _execution_timeout(command.parameters)
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=working,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        invocation.pid = process.pid
        assert process.stdout is not None and process.stderr is not None

        def expire() -> None:
            invocation.timed_out = True
            _kill(process.pid)

        timer = self.loop.call_later(timeout, expire)
        try:
            out, err = await asyncio.gather(
                _read_limited(process.stdout, STDOUT_LIMIT),
                _read_limited(process.stderr, STDERR_LIMIT),
            )
            raw = await process.wait()
        finally:
            timer.cancel()
        invocation.stdout, invocation.stderr = out, err
        code = raw if raw >= 0 else 128 - raw
        if invocation.timed_out or invocation.cancelled:
            code = STOPPED_EXIT_CODE
        with self.lock:
            if code == 0:
                _finish(invocation, "Success", "Success", 0)
            elif code == REBOOT_EXIT_CODE:
                _finish(invocation, "Success", "Success", code)
            elif code == STOPPED_EXIT_CODE and invocation.cancelled:
                _finish(invocation, "Cancelled", "Cancelled", code)
            elif code == STOPPED_EXIT_CODE and invocation.timed_out:
                _finish(invocation, "TimedOut", "ExecutionTimedOut", code)
            else:
                _finish(invocation, "Failed", "Failed", code)

    def shutdown(self) -> None:
        """Sandbox exit: no script outlives it."""
        with self.lock:
            for command in self.commands.values():
                for invocation in command.invocations.values():
                    if invocation.status in ("InProgress", "Cancelling"):
                        _kill(invocation.pid)


def _finish(invocation: Invocation, status: str, details: str, code: int) -> None:
    invocation.status, invocation.details, invocation.code = status, details, code
    invocation.end = _now()
    if invocation.start is None and status != "Cancelled":
        invocation.start = invocation.end


def _kill(pid: int | None) -> None:
    if pid is None:
        return
    for group in session_process_groups(pid) | {pid}:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)


async def _read_limited(stream: asyncio.StreamReader, limit: int) -> bytes:
    """The first `limit` bytes; the rest is read and dropped so the script never blocks."""
    kept = bytearray()
    while True:
        data = await stream.read(65536)
        if not data:
            return bytes(kept)
        if len(kept) < limit:
            kept += data[: limit - len(kept)]


def _now() -> datetime:
    return datetime.now(UTC)


def _home(world: World, instance: Instance) -> Path:
    state = ssm_api._state()
    home = state.hosts_dir / instance.instance_id
    home.mkdir(parents=True, exist_ok=True)
    return home


def _working_directory(parameters: dict[str, list[str]], home: Path) -> str:
    """An absolute workingDirectory as given (a missing one fails the start), else the home."""
    given = "".join(parameters.get("workingDirectory") or [])
    if given and os.path.isabs(given):
        return given
    return str(home)


def _execution_timeout(parameters: dict[str, list[str]]) -> float:
    text = "".join(parameters.get("executionTimeout") or [str(DEFAULT_EXECUTION_TIMEOUT)])
    try:
        seconds = int(float(text))
    except ValueError:
        seconds = DEFAULT_EXECUTION_TIMEOUT
    if not MIN_EXECUTION_TIMEOUT <= seconds <= MAX_EXECUTION_TIMEOUT:
        seconds = DEFAULT_EXECUTION_TIMEOUT
    return seconds


def _environment(instance: Instance, home: Path, command_id: str) -> dict[str, str]:
    """The agent runs scripts as root with its own environment; nothing of the sandbox's leaks."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "USER": "root",
        "LOGNAME": "root",
        "LANG": "C.UTF-8",
        "SSM_COMMAND_ID": command_id,
        "AWS_SSM_INSTANCE_ID": instance.instance_id,
    }


def string_prefix(data: bytes, limit: int, suffix: str = TRUNCATED_SUFFIX) -> str:
    """The agent's `StringPrefix`: under `limit` as is, else cut and marked (bytes, like Go)."""
    if len(data) < limit:
        return data.decode("utf-8", "replace")
    return (data[: limit - len(suffix)] + suffix.encode()).decode("utf-8", "replace")


def plugin_output(stdout: str, stderr: str, capacity: int = PLUGIN_OUTPUT_LIMIT) -> str:
    """The agent's `TruncateOutput`: stdout, then stderr under an ERROR title, within capacity."""
    out, err = stdout.encode(), stderr.encode()
    title = _ERR_TITLE.encode() if err else b""
    space = capacity - len(title)
    if len(out) + len(err) < space:
        result = out + title + err
    elif len(out) > space // 2 and len(err) > space // 2:
        size = space - len(_TRUNCATE_ERR) - len(_TRUNCATE_OUT)
        result = (
            out[: size // 2]
            + _TRUNCATE_OUT.encode()
            + title
            + err[: size // 2]
            + _TRUNCATE_ERR.encode()
        )
    elif len(out) <= space // 2:
        size = space - len(_TRUNCATE_ERR)
        result = out + title + err[: size - len(out)] + _TRUNCATE_ERR.encode()
    else:
        size = space - len(_TRUNCATE_OUT)
        result = out[: size - len(err)] + _TRUNCATE_OUT.encode() + title + err
    return result.decode("utf-8", "replace")


# -- the API ----------------------------------------------------------------------------------

_STORE: CommandStore | None = None


def install(world: World, agent_dir: Path, loop: asyncio.AbstractEventLoop) -> CommandStore:
    """Give the operations their store (called by the server before it serves)."""
    global _STORE
    _STORE = CommandStore(world, agent_dir, loop)
    return _STORE


def _store() -> CommandStore:
    if _STORE is None:  # pragma: no cover - install() runs before the server starts
        raise RuntimeError("run_command.install() was not called")
    return _STORE


def _invalid(code: str, message: str) -> ssm_api.ApiError:
    return ssm_api.ApiError(code, message)


def _validation(value: object, name: str, constraint: str) -> ssm_api.ApiError:
    return _invalid(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _targets(self: Any, store: CommandStore) -> list[Instance]:
    """The managed instances a SendCommand names (InstanceIds, or Targets by id / tag)."""
    account, region = self.current_account, self.region
    ids = self._get_param("InstanceIds") or []
    targets = self._get_param("Targets") or []
    if ids and targets:
        raise _invalid(
            "InvalidParameters", "Either InstanceIds or Targets can be specified, not both."
        )
    if not ids and not targets:
        raise _invalid("ValidationException", "Either InstanceIds or Targets must be specified.")
    if len(ids) > MAX_INSTANCE_IDS:
        raise _validation(
            ids, "instanceIds", f"Member must have length less than or equal to {MAX_INSTANCE_IDS}"
        )
    managed = store.world.managed(account, region)
    if ids:
        found: list[Instance] = []
        missing: list[str] = []
        for instance_id in dict.fromkeys(ids):
            instance = store.world.find(account, region, instance_id)
            if instance is None or not instance.managed or instance.ping_status == "Inactive":
                missing.append(instance_id)
            else:
                found.append(instance)
        if missing:
            raise _invalid(
                "InvalidInstanceId",
                f"Instances [[{', '.join(missing)}]] not in a valid state for account {account}",
            )
        return found
    chosen = list(managed)
    for target in targets:
        key, values = target.get("Key", ""), list(target.get("Values") or [])
        if key == "InstanceIds":
            chosen = [i for i in chosen if i.instance_id in values]
        elif key.startswith("tag:"):
            chosen = [i for i in chosen if i.tags.get(key[4:]) in values]
        elif key == "tag-key":
            chosen = [i for i in chosen if any(v in i.tags for v in values)]
        else:
            raise _invalid("InvalidTarget", f"Target key {key} is not supported here.")
    return [i for i in chosen if i.ping_status != "Inactive"]


def _parameters(self: Any, document: str) -> dict[str, list[str]]:
    given = self._get_param("Parameters") or {}
    unknown = set(given) - _PARAMETERS
    if unknown:
        raise _invalid(
            "InvalidParameters",
            f'Parameter "{sorted(unknown)[0]}" is not defined in document {document}.',
        )
    commands = [str(c) for c in given.get("commands") or []]
    if not commands:
        raise _invalid("InvalidParameters", 'Parameter "commands" is required.')
    parameters = {"commands": commands}
    for name in ("workingDirectory", "executionTimeout"):
        if given.get(name):
            parameters[name] = [str(v) for v in given[name]]
    parameters.setdefault("workingDirectory", [""])
    parameters.setdefault("executionTimeout", [str(DEFAULT_EXECUTION_TIMEOUT)])
    return parameters


def _send_command(self: Any) -> tuple[str, dict[str, str]]:
    store = _store()
    document = self._get_param("DocumentName") or ""
    if document not in _DOCUMENTS:
        raise _invalid("InvalidDocument", f"Document with name {document} does not exist.")
    concurrency = str(self._get_param("MaxConcurrency") or "50")
    errors = str(self._get_param("MaxErrors") or "0")
    if not _CONCURRENCY.match(concurrency):
        raise _validation(
            concurrency,
            "maxConcurrency",
            "Member must satisfy regular expression pattern: "
            "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$",
        )
    if not _ERRORS.match(errors):
        raise _validation(
            errors,
            "maxErrors",
            "Member must satisfy regular expression pattern: "
            "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$",
        )
    timeout = int(self._get_param("TimeoutSeconds") or DEFAULT_DELIVERY_TIMEOUT)
    if not 30 <= timeout <= 2592000:
        raise _validation(timeout, "timeoutSeconds", "Member must be between 30 and 2592000")
    parameters = _parameters(self, document)
    instances = _targets(self, store)
    command = Command(
        command_id=str(uuid.uuid4()),
        account_id=self.current_account,
        region=self.region,
        document_name=document,
        parameters=parameters,
        comment=self._get_param("Comment") or "",
        instance_ids=[i.instance_id for i in instances],
        targets=list(self._get_param("Targets") or []),
        max_concurrency=concurrency,
        max_errors=errors,
        timeout_seconds=timeout,
        requested=_now(),
        invocations={i.instance_id: Invocation(i) for i in instances},
    )
    with store.lock:
        store.commands[command.command_id] = command
        payload = {"Command": _command_record(command)}
    store.schedule(command)
    return ssm_api._dumps(payload)


def _command_record(command: Command) -> dict[str, Any]:
    invocations = list(command.invocations.values())
    completed = sum(1 for i in invocations if i.done)
    return {
        "CommandId": command.command_id,
        "DocumentName": command.document_name,
        "DocumentVersion": "$DEFAULT",
        "Comment": command.comment,
        "ExpiresAfter": command.requested + timedelta(seconds=command.timeout_seconds),
        "Parameters": command.parameters,
        "InstanceIds": command.instance_ids,
        "Targets": command.targets,
        "RequestedDateTime": command.requested,
        "Status": command.status,
        "StatusDetails": command.status,
        "MaxConcurrency": command.max_concurrency,
        "MaxErrors": command.max_errors,
        "TargetCount": len(invocations),
        "CompletedCount": completed,
        "ErrorCount": command.error_count,
        "DeliveryTimedOutCount": sum(1 for i in invocations if i.details == "DeliveryTimedOut"),
        "TimeoutSeconds": command.timeout_seconds,
        "ServiceRole": "",
        "NotificationConfig": {},
        "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
    }


def _own_command(self: Any, store: CommandStore, command_id: str | None) -> Command:
    if not command_id or not _COMMAND_ID.match(command_id):
        raise _invalid("InvalidCommandId", "")
    command = store.commands.get(command_id)
    if command is None or (command.account_id, command.region) != (
        self.current_account,
        self.region,
    ):
        raise _invalid("InvalidCommandId", "")
    return command


def _scoped_commands(self: Any, store: CommandStore) -> list[Command]:
    commands = [
        c
        for c in store.commands.values()
        if (c.account_id, c.region) == (self.current_account, self.region)
    ]
    command_id = self._get_param("CommandId")
    if command_id:
        commands = [_own_command(self, store, command_id)]
    instance_id = self._get_param("InstanceId")
    if instance_id:
        commands = [c for c in commands if instance_id in c.invocations]
    commands.sort(key=lambda c: c.requested, reverse=True)
    return commands


def _list_commands(self: Any) -> tuple[str, dict[str, str]]:
    store = _store()
    with store.lock:
        commands = _scoped_commands(self, store)
        chunk, token = ssm_api._page(commands, self, 50, 1, 50, "lc")
        payload: dict[str, Any] = {"Commands": [_command_record(c) for c in chunk]}
    if token:
        payload["NextToken"] = token
    return ssm_api._dumps(payload)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _elapsed(invocation: Invocation) -> str:
    if invocation.start is None:
        return ""
    end = invocation.end or _now()
    return f"PT{(end - invocation.start).total_seconds():.3f}S"


def _plugin(command: Command, invocation: Invocation) -> dict[str, Any]:
    stdout = string_prefix(invocation.stdout, STDOUT_LIMIT)
    stderr = string_prefix(invocation.stderr, STDERR_LIMIT)
    record: dict[str, Any] = {
        "Name": _DOCUMENTS[command.document_name][0],
        "Status": invocation.status,
        "StatusDetails": invocation.details,
        "ResponseCode": invocation.code,
        "Output": plugin_output(stdout, stderr) if invocation.done else "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "OutputS3Region": command.region,
        "OutputS3BucketName": "",
        "OutputS3KeyPrefix": "",
    }
    if invocation.start is not None:
        record["ResponseStartDateTime"] = invocation.start
    if invocation.end is not None:
        record["ResponseFinishDateTime"] = invocation.end
    return record


def _invocation_record(command: Command, invocation: Invocation, details: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CommandId": command.command_id,
        "InstanceId": invocation.instance.instance_id,
        "InstanceName": invocation.instance.computer_name if invocation.instance.is_ec2 else "",
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": command.requested,
        "Status": invocation.status,
        "StatusDetails": invocation.details,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": [_plugin(command, invocation)] if details else [],
        "ServiceRole": "",
        "NotificationConfig": {},
        "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
    }
    return record


def _list_command_invocations(self: Any) -> tuple[str, dict[str, str]]:
    store = _store()
    details = bool(self._get_param("Details"))
    instance_id = self._get_param("InstanceId")
    with store.lock:
        rows = [
            (command, invocation)
            for command in _scoped_commands(self, store)
            for iid, invocation in command.invocations.items()
            if not instance_id or iid == instance_id
        ]
        chunk, token = ssm_api._page(rows, self, 50, 1, 50, "lci")
        payload: dict[str, Any] = {
            "CommandInvocations": [_invocation_record(c, i, details) for c, i in chunk]
        }
    if token:
        payload["NextToken"] = token
    return ssm_api._dumps(payload)


def _get_command_invocation(self: Any) -> tuple[str, dict[str, str]]:
    store = _store()
    with store.lock:
        command = _own_command(self, store, self._get_param("CommandId"))
        instance_id = self._get_param("InstanceId") or ""
        invocation = command.invocations.get(instance_id)
        plugin_name = self._get_param("PluginName")
        plugin = _DOCUMENTS[command.document_name][0]
        if invocation is None or (plugin_name and plugin_name not in (plugin, f"0.{plugin}")):
            raise _invalid("InvocationDoesNotExist", "")
        payload = {
            "CommandId": command.command_id,
            "InstanceId": instance_id,
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": plugin,
            "ResponseCode": invocation.code,
            "ExecutionStartDateTime": _iso(invocation.start),
            "ExecutionElapsedTime": _elapsed(invocation),
            "ExecutionEndDateTime": _iso(invocation.end),
            "Status": invocation.status,
            "StatusDetails": invocation.details,
            "StandardOutputContent": string_prefix(invocation.stdout, STDOUT_LIMIT),
            "StandardOutputUrl": "",
            "StandardErrorContent": string_prefix(invocation.stderr, STDERR_LIMIT),
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
        }
    return ssm_api._dumps(payload)


def _cancel_command(self: Any) -> tuple[str, dict[str, str]]:
    store = _store()
    with store.lock:
        command = _own_command(self, store, self._get_param("CommandId"))
    store.cancel(command, list(self._get_param("InstanceIds") or []))
    return ssm_api._dumps({})


ssm_api.OPERATIONS.update(
    {
        "SendCommand": _send_command,
        "ListCommands": _list_commands,
        "ListCommandInvocations": _list_command_invocations,
        "GetCommandInvocation": _get_command_invocation,
        "CancelCommand": _cancel_command,
    }
)
