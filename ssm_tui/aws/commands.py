"""Run Command: one script on many managed instances, across profiles and regions.

One `SendCommand` per (profile, region, document) and block of 50 instances (SendCommand's
limit), all scopes at once; then `ListCommandInvocations` (Details) until every invocation has
ended, and `GetCommandInvocation` for each, whose output keeps 24,000 characters where the
listing's keeps 2,500. The document follows the platform: AWS-RunShellScript on Linux and macOS,
AWS-RunPowerShellScript on Windows. MaxConcurrency / MaxErrors are SendCommand's own and apply
per command (so per scope). A scope that fails (credentials, access) fails its instances with the
reason and never hides the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ssm_tui.aws.models import Instance
from ssm_tui.aws.models.commands import InvocationResult

SHELL_DOCUMENT = "AWS-RunShellScript"
POWERSHELL_DOCUMENT = "AWS-RunPowerShellScript"
BATCH = 50
"""Most InstanceIds one SendCommand takes."""
DONE = {"Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated"}
NOT_SENT = "NotConnected"
"""Our status for a chosen instance that is not Online: nothing was sent to it."""
POLL_FIRST = 0.3
POLL_MAX = 2.0


def document_for(instance: Instance) -> str:
    return POWERSHELL_DOCUMENT if instance.platform_type == "Windows" else SHELL_DOCUMENT


def _batches(instances: Iterable[Instance]) -> dict[tuple[str, str, str], list[list[Instance]]]:
    grouped: dict[tuple[str, str, str], list[Instance]] = {}
    for instance in instances:
        key = (instance.profile, instance.region, document_for(instance))
        grouped.setdefault(key, []).append(instance)
    return {
        key: [items[n : n + BATCH] for n in range(0, len(items), BATCH)]
        for key, items in grouped.items()
    }


def not_sent(instance: Instance) -> InvocationResult:
    return InvocationResult(
        instance,
        document_for(instance),
        "",
        NOT_SENT,
        NOT_SENT,
        None,
        "",
        "",
        f"not connected to Systems Manager (ping status {instance.ping_status or 'unknown'})",
    )


class CommandService:
    """Send, follow and (on request) cancel commands. One per run; `cancel()` is safe anytime."""

    def __init__(self) -> None:
        self._sent: list[tuple[str, str, str]] = []  # (profile, region, command id) still running
        self._open: set[tuple[str, str, str]] = set()

    async def run(
        self,
        instances: Sequence[Instance],
        script: str,
        *,
        max_concurrency: str = "50",
        max_errors: str = "0",
        execution_timeout: int | None = None,
        comment: str = "",
        on_result: Callable[[InvocationResult], None] | None = None,
    ) -> list[InvocationResult]:
        """Run `script` on every Online instance; results for all of `instances`, in order."""
        results: dict[str, InvocationResult] = {}

        def record(result: InvocationResult) -> None:
            results[result.instance.key] = result
            if on_result is not None:
                on_result(result)

        online = [i for i in instances if i.ping_status == "Online"]
        for instance in instances:
            if instance.ping_status != "Online":
                record(not_sent(instance))
        jobs = [
            self._run_batch(
                key, batch, script, max_concurrency, max_errors, execution_timeout, comment, record
            )  # fmt: skip
            for key, batches in _batches(online).items()
            for batch in batches
        ]
        await asyncio.gather(*jobs)
        return [results[i.key] for i in instances if i.key in results]

    async def _run_batch(
        self,
        key: tuple[str, str, str],
        batch: list[Instance],
        script: str,
        max_concurrency: str,
        max_errors: str,
        execution_timeout: int | None,
        comment: str,
        record: Callable[[InvocationResult], None],
    ) -> None:
        from ssm_tui.aws import clients
        from ssm_tui.aws.errors import explain

        profile, region, document = key
        parameters: dict[str, list[str]] = {"commands": script.splitlines() or [script]}
        if execution_timeout is not None:
            parameters["executionTimeout"] = [str(execution_timeout)]
        by_id = {i.instance_id: i for i in batch}
        command_id = ""
        try:
            async with clients.client("ssm", profile, region) as ssm:
                response = await ssm.send_command(
                    InstanceIds=list(by_id),
                    DocumentName=document,
                    Parameters=parameters,
                    MaxConcurrency=max_concurrency,
                    MaxErrors=max_errors,
                    Comment=comment[:100],
                )
                command_id = response["Command"]["CommandId"]
                handle = (profile, region, command_id)
                self._open.add(handle)
                try:
                    await self._follow(ssm, command_id, by_id, document, record)
                finally:
                    self._open.discard(handle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one scope's failure is reported, not raised
            error = explain(exc, profile, region)
            text = error.message + (f" ({error.hint})" if error.hint else "")
            for instance in batch:
                record(
                    InvocationResult(
                        instance,
                        document,
                        command_id,
                        "Error",
                        error.code or "Error",
                        None,
                        "",
                        "",
                        text,
                    )  # fmt: skip
                )

    async def _follow(
        self,
        ssm: Any,
        command_id: str,
        by_id: dict[str, Instance],
        document: str,
        record: Callable[[InvocationResult], None],
    ) -> None:
        """Poll the invocations; fetch each one's full output as soon as it has ended."""
        pending = set(by_id)
        delay = POLL_FIRST
        while pending:
            await asyncio.sleep(delay)
            delay = min(POLL_MAX, delay * 1.5)
            finished: list[str] = []
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"CommandId": command_id, "Details": False}
                if token:
                    kwargs["NextToken"] = token
                page = await ssm.list_command_invocations(**kwargs)
                for item in page.get("CommandInvocations", []):
                    if item["InstanceId"] in pending and item["Status"] in DONE:
                        finished.append(item["InstanceId"])
                token = page.get("NextToken")
                if not token:
                    break
            for instance_id in finished:
                pending.discard(instance_id)
                record(await _full_result(ssm, command_id, by_id[instance_id], document))

    async def cancel(self) -> None:
        """Cancel every command still being followed (Ctrl-C): nothing keeps running remotely."""
        from ssm_tui.aws import clients

        for profile, region, command_id in list(self._open):
            try:
                async with clients.client("ssm", profile, region) as ssm:
                    await ssm.cancel_command(CommandId=command_id)
            except Exception:  # noqa: BLE001, S110 - best effort while stopping
                pass


async def _full_result(
    ssm: Any, command_id: str, instance: Instance, document: str
) -> InvocationResult:
    item = await ssm.get_command_invocation(CommandId=command_id, InstanceId=instance.instance_id)
    code = item.get("ResponseCode")
    return InvocationResult(
        instance,
        document,
        command_id,
        str(item.get("Status", "")),
        str(item.get("StatusDetails", "")),
        int(code) if code is not None and int(code) >= 0 else None,
        str(item.get("StandardOutputContent", "")),
        str(item.get("StandardErrorContent", "")),
    )
