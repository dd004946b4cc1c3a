"""Issue 13, the store: a broken or unwritable cache never ends a command, never stops the record.

The cache is disposable (its own docstring): garbage bytes are set aside and a new cache made; a
read-only folder turns the cache off with a reason (`Store.cache_off`) the CLIs and the app show.
Sessions keep being recorded. Files are private: 0600 in 0700 folders.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssm_tui.aws.models import Instance, Scope, ScopeResult, StartedSession
from ssm_tui.store import Store, default_cache_path, default_data_path

GARBAGE = bytes(range(256)) * 64


def _started(n: int) -> StartedSession:
    return StartedSession(f"alice-{n:012x}", "token", "wss://x", "i-0123", "us-east-1", "prod")


@pytest.mark.slow
def test_corrupt_cache_is_recreated_and_list_and_history_run(cli) -> None:  # type: ignore[no-untyped-def]
    cache = default_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(GARBAGE)
    listed = cli("list", "-p", "prod")
    history = cli("history", "-p", "prod")
    for done in (listed, history):
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "sqlite3" not in done.stderr, done.stderr
    assert Store().load_inventory()  # a new, working cache holds what `list` found
    assert [p.name for p in cache.parent.glob("inventory.sqlite3.corrupt-*")]  # bytes kept


def test_corrupt_cache_does_not_stop_the_app_recording_sessions() -> None:
    """The app's Services used to get no store at all (Store() raised): nothing recorded."""
    from ssm_tui.ui.services import Services

    cache = default_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(GARBAGE)
    services = Services()
    services.record_start(_started(1), "222222222222", "builtin")
    services.record_end(_started(1).session_id, None)  # a shell tab: no remote status known
    (record,) = Store().local_sessions()
    assert record.session_id == _started(1).session_id
    assert record.ended_at is not None


def test_corrupt_session_record_is_set_aside_and_recording_goes_on() -> None:
    data = default_data_path()
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes(GARBAGE)
    store = Store()
    assert store.local_sessions() == []
    store.record_session_start(_started(2), account_id="222222222222", plugin="builtin")
    assert [r.session_id for r in Store().local_sessions()] == [_started(2).session_id]
    (aside,) = data.parent.glob("sessions.sqlite3.corrupt-*")
    assert aside.read_bytes() == GARBAGE  # the user's history is never deleted
    assert any("set aside" in note for note in store.notes)


def test_store_files_are_private(clean_aws_env: Path) -> None:
    cache, data = default_cache_path(), default_data_path()
    data.parent.mkdir(parents=True)
    data.touch(mode=0o644)
    os.chmod(data, 0o644)  # an older version's file: tightened
    os.chmod(data.parent, 0o755)
    store = Store()
    store.record_session_start(_started(3), account_id="1", plugin="builtin")
    for path in (cache, data):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
        for side in path.parent.glob(path.name + "-*"):
            assert stat.S_IMODE(side.stat().st_mode) == 0o600, side


@contextlib.contextmanager
def read_only(*folders: Path) -> Iterator[None]:
    """Make `folders` unwritable for this process: mode 0555, and for root (whom modes do not
    stop) the immutable attribute, which stops root too."""
    modes = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
    for folder in folders:
        os.chmod(folder, 0o555)
    immutable = os.geteuid() == 0
    try:
        if immutable:
            done = subprocess.run(["chattr", "+i", *map(str, folders)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"root, and chattr +i failed here: {done.stderr.decode().strip()}")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", *map(str, folders)], capture_output=True)
        for folder, mode in modes.items():
            os.chmod(folder, mode)


@pytest.mark.slow
def test_read_only_store_folder_turns_the_cache_off_with_a_reason(cli) -> None:  # type: ignore[no-untyped-def]
    folders = [default_cache_path().parent, default_data_path().parent]
    for folder in folders:
        folder.mkdir(parents=True)
    with read_only(*folders):
        listed = cli("list", "-p", "prod")
        history = cli("history", "-p", "prod")
        recorded = Store()
        recorded.record_session_start(_started(4), account_id="1", plugin="builtin")
    for done in (listed, history):
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "sqlite3." not in done.stderr, done.stderr
    assert "inventory cache off" in listed.stderr and "prod" in listed.stdout
    assert "session record not recorded" in history.stderr or "not recorded" in history.stderr
    assert recorded.cache_off and recorded.record_off  # the reasons the app shows


_WRITER = """
import sys
from ssm_tui.aws.models import Instance, Scope, ScopeResult, StartedSession
from ssm_tui.store import Store
me, rounds = sys.argv[1], int(sys.argv[2])
for n in range(rounds):
    store = Store()
    sid = f"{me}-{n:06d}"
    store.record_session_start(
        StartedSession(sid, "t", "wss://x", "i-1", "us-east-1", me), account_id="1", plugin="x"
    )
    rows = tuple(Instance(me, "1", "us-east-1", f"i-{n:04d}{k:04d}", "w", "On") for k in range(9))
    store.save_inventory(ScopeResult(Scope(me, "us-east-1"), rows))
    store.load_inventory()
    store.record_session_end(sid, exit_status=0)
    off = getattr(store, "cache_off", None), getattr(store, "record_off", None)
    assert off == (None, None), off
"""


@pytest.mark.slow
@pytest.mark.parametrize("rounds", [150])
def test_two_apps_on_one_store(rounds: int) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, name, str(rounds)],
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for name in ("one", "two")
    ]
    errors = [child.communicate(timeout=300)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0], errors
    records = Store().local_sessions(limit=10_000)
    assert len(records) == 2 * rounds
    assert all(r.exit_status == 0 and r.ended_at is not None for r in records)
    assert {s.scope.profile for s in Store().load_inventory()} == {"one", "two"}


_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, as a commit stalled in fsync holds it
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@pytest.mark.slow
def test_a_write_outlasts_another_app_holding_the_lock_past_the_busy_timeout() -> None:
    """Under load (a commit stalled in fsync, a process descheduled) another app can hold the
    write lock longer than SQLite's busy timeout: the write waits it out instead of being lost
    (`record_off`, "database is locked") or skipped (the cache)."""
    from ssm_tui import store as store_module

    store = Store()
    store.record_session_start(_started(5), account_id="1", plugin="builtin")  # files made
    held = getattr(store_module, "BUSY_TIMEOUT", 10.0) + 2
    for path in {store.data_path, store.cache_path}:
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path), str(held)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
            if path == store.data_path:
                store.record_session_end(_started(5).session_id, exit_status=0)
            else:
                store.save_inventory(
                    ScopeResult(
                        Scope("p", "us-east-1"),
                        (Instance("p", "1", "us-east-1", "i-1", "w", "Online"),),
                    )
                )
        finally:
            assert holder.wait(timeout=120) == 0
    assert (store.record_off, store.cache_off) == (None, None)
    (record,) = Store().local_sessions()
    assert record.exit_status == 0 and record.ended_at is not None
    assert [s.scope.profile for s in Store().load_inventory()] == ["p"]
