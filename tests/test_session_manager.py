"""The session manager without a UI (no Pilot): real StartSession on the sandbox, the real plugin
in a real pty, the local record, TerminateSession, and the exit path's last resort."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest

from ssm_tui.services import DocumentChoice, Services
from ssm_tui.session_manager import SessionManager
from ssm_tui.store import Store
from ssm_tui.term.pty import PtyProcess

WAIT = 30.0
"""Upper bound for anything the sandbox does (a guard against hanging, not a speed check)."""


class Target(NamedTuple):
    """What `open_session` reads of a fleet row."""

    profile: str
    region: str
    instance_id: str


def linux_target() -> Target:
    session = boto3.Session(profile_name="sandbox")
    infos = session.client("ssm").describe_instance_information()["InstanceInformationList"]
    for info in sorted(infos, key=lambda i: i["InstanceId"]):
        if info["PingStatus"] == "Online" and info["PlatformType"] == "Linux":
            return Target("sandbox", str(session.region_name), info["InstanceId"])
    raise AssertionError("the sandbox has no Online Linux instance for profile sandbox")


def sessions_of(target: Target, state: str) -> set[str]:
    ssm = boto3.Session(profile_name=target.profile, region_name=target.region).client("ssm")
    filters = [{"key": "Target", "value": target.instance_id}]
    found = ssm.describe_sessions(State=state, Filters=filters)["Sessions"]
    return {s["SessionId"] for s in found}


async def until(condition: Callable[[], object], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        assert loop.time() < deadline, f"gave up waiting for: {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
def services(sandbox_env: Any, tmp_path: Path) -> Any:
    services = Services(store=Store(tmp_path / "record.sqlite3"))
    yield services
    services.aws.stop()


async def test_start_plugin_record_end_without_a_ui(services: Services) -> None:
    target = linux_target()
    manager = SessionManager(services)
    opened = await manager.open_session(target, DocumentChoice())
    assert opened is not None
    started, launch = opened.started, opened.launch
    assert set(manager.open) == {started.session_id}
    assert started.token_value not in " ".join(launch.argv)  # never on a command line

    output = bytearray()
    plugin = PtyProcess(launch.argv, env=launch.env, pass_fds=launch.pass_fds,
                        on_data=output.extend)  # fmt: skip
    await plugin.start()
    launch.close()
    manager.record_start(started, "111111111111", launch.label)
    await until(lambda: b"$" in output, "a prompt from the remote shell")
    plugin.write(b"echo manager-$((6*7))\r")
    await until(lambda: b"manager-42" in output, "the command's output")
    plugin.write(b"exit\r")
    status = await asyncio.wait_for(plugin.wait(), WAIT)

    assert manager.record_end(started.session_id, status)
    assert not manager.record_end(started.session_id, status)  # written once
    await manager.end(started)
    assert not manager.open
    assert started.session_id not in sessions_of(target, "Active")
    (record,) = services.get_store().local_sessions()
    assert record.session_id == started.session_id and record.ended_at is not None


async def test_closing_during_a_slow_start_ends_what_it_opened(
    services: Services, sandbox_env: Any
) -> None:
    """The caller (a tab) goes away while StartSession is at AWS: closing still ends it."""
    target = linux_target()
    manager = SessionManager(services)
    before = sessions_of(target, "Active") | sessions_of(target, "History")
    sandbox_env.set_faults(latency_ms=2000)
    try:
        caller = asyncio.ensure_future(manager.open_session(target, DocumentChoice()))
        await until(lambda: manager.starting, "StartSession sent")
        await asyncio.sleep(0.5)  # at the sandbox, which answers in 2 s
        caller.cancel()
        await manager.close()
    finally:
        sandbox_env.reset_faults()
    assert caller.cancelled()
    assert not manager.open and not manager.starting
    opened = (sessions_of(target, "Active") | sessions_of(target, "History")) - before
    assert opened, "StartSession was abandoned (real AWS may still open it)"
    assert not sessions_of(target, "Active") - before


async def test_a_missing_plugin_starts_no_session(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = linux_target()
    services.settings = services.get_settings().model_copy(update={"plugin": "official"})
    manager = SessionManager(services)
    before = sessions_of(target, "Active") | sessions_of(target, "History")
    monkeypatch.setenv("PATH", str(tmp_path))  # no session-manager-plugin anywhere on it
    from ssm_tui.plugin.launcher import PluginNotFound
    from ssm_tui.services import StartFailed

    with pytest.raises(StartFailed) as failed:
        await manager.open_session(target, DocumentChoice())
    assert isinstance(failed.value.__cause__, PluginNotFound)
    assert "plugin not found" in failed.value.error.message  # explained for the tab to show
    assert not manager.open and not manager.starting
    # looked up before StartSession: no session was opened (and so none had to be ended)
    assert sessions_of(target, "Active") | sessions_of(target, "History") == before


async def test_end_all_now_needs_no_event_loop_but_the_aws_one(services: Services) -> None:
    """The exit watchdog's path: from a thread, while this loop is blocked outright."""
    target = linux_target()
    manager = SessionManager(services)
    opened = await manager.open_session(target, DocumentChoice())
    assert opened is not None
    opened.launch.close()
    manager.record_start(opened.started, "111111111111", opened.launch.label)
    assert opened.started.session_id in sessions_of(target, "Active")

    watchdog = threading.Thread(target=manager.end_all_now, args=(WAIT,))
    watchdog.start()
    watchdog.join()  # blocks this event loop: the thread must not need it
    assert opened.started.session_id not in sessions_of(target, "Active")
    (record,) = services.get_store().local_sessions()
    assert record.ended_at is not None
    assert not manager.record_end(opened.started.session_id)  # its end is written already
