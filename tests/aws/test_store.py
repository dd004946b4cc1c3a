"""The SQLite store: inventory cache round trip and the local session record."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ssm_tui.aws.models import Instance, Scope, ScopeError, ScopeResult, StartedSession
from ssm_tui.store import Store


def _instance(iid: str, **kw: object) -> Instance:
    return Instance(
        profile="prod",
        account_id="222222222222",
        region="us-east-1",
        instance_id=iid,
        name=kw.pop("name", iid),  # type: ignore[arg-type]
        ping_status="Online",
        last_ping=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        tags={"Name": "[bold]web\x1b[31m", "team": "数据"},
        **kw,  # type: ignore[arg-type]
    )


def test_default_paths_follow_xdg(tmp_path: Path) -> None:
    import os

    store = Store()
    assert str(store.cache_path).startswith(os.environ["XDG_CACHE_HOME"])
    assert str(store.data_path).startswith(os.environ["XDG_DATA_HOME"])
    assert store.cache_path.exists()
    assert not store.data_path.exists()  # a start reads the cache only
    assert store.local_sessions() == []
    assert store.data_path.exists()


def test_inventory_round_trip_keeps_every_field() -> None:
    store = Store()
    fetched = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    one = _instance(
        "i-1", instance_type="t3.micro", instance_state="running", ip_address="10.0.0.1"
    )
    two = _instance("mi-0123456789abcdef0", resource_type="ManagedInstance")
    store.save_inventory(
        ScopeResult(Scope("prod", "us-east-1"), (one, two), None, 1.5, False, fetched)
    )
    store.save_inventory(ScopeResult(Scope("dev", "eu-west-1"), (), None, 0.2, False, fetched))
    (dev, prod) = store.load_inventory()
    assert dev.scope == Scope("dev", "eu-west-1") and dev.instances == ()
    assert prod.from_cache and prod.fetched_at == fetched and prod.elapsed == 1.5
    assert prod.instances == (one, two)
    assert prod.instances[0].tags == one.tags
    assert prod.instances[0].last_ping == one.last_ping


def test_failed_scope_keeps_the_last_good_list() -> None:
    store = Store()
    good = ScopeResult(
        Scope("prod", "us-east-1"), (_instance("i-1"),), fetched_at=datetime.now(UTC)
    )
    store.save_inventory(good)
    bad = ScopeResult(Scope("prod", "us-east-1"), error=ScopeError("prod", "us-east-1", "expired"))
    store.save_inventory(bad)
    (cached,) = Store().load_inventory()
    assert [i.instance_id for i in cached.instances] == ["i-1"]


def _started(sid: str, target: str) -> StartedSession:
    return StartedSession(
        session_id=sid,
        token_value="SECRET-TOKEN",
        stream_url=f"ws://127.0.0.1:1/v1/data-channel/{sid}",
        target=target,
        region="us-east-1",
        profile="prod",
        document_name="SSM-SessionManagerRunShell",
    )


def test_local_session_record(tmp_path: Path) -> None:
    path = tmp_path / "one.sqlite3"
    store = Store(path)
    store.record_session_start(_started("alice-1", "i-1"), account_id="222", plugin="builtin")
    store.record_session_start(_started("alice-2", "i-2"), account_id="222", plugin="official")
    ended = datetime.now(UTC) + timedelta(minutes=5)
    store.record_session_end("alice-1", exit_status=0, ended_at=ended)
    store.record_session_end("nobody", exit_status=1)
    sessions = Store(path).local_sessions()
    assert [s.session_id for s in sessions] == ["alice-2", "alice-1"]
    first = sessions[1]
    assert (first.target, first.plugin, first.exit_status, first.ended_at) == (
        "i-1",
        "builtin",
        0,
        ended,
    )
    assert first.account_id == "222" and first.document_name == "SSM-SessionManagerRunShell"
    assert sessions[0].ended_at is None and sessions[0].exit_status is None
    assert [s.session_id for s in store.local_sessions(target="i-2")] == ["alice-2"]
    assert len(store.local_sessions(limit=1)) == 1
    assert b"SECRET-TOKEN" not in path.read_bytes()


def test_writes_from_threads() -> None:
    store = Store()

    def work(n: int) -> None:
        for k in range(20):
            sid = f"s-{n}-{k}"
            store.record_session_start(_started(sid, f"i-{n}"), account_id="1", plugin="builtin")
            store.record_session_end(sid, exit_status=k)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.local_sessions(limit=1000)) == 80


_FIRST_LAYOUT = """
CREATE TABLE inventory (
    profile TEXT NOT NULL, region TEXT NOT NULL, fetched_at TEXT NOT NULL,
    elapsed REAL NOT NULL, instances TEXT NOT NULL, PRIMARY KEY (profile, region)
);
"""


def _first_layout_cache(payloads: dict[tuple[str, str], str]) -> Path:
    """A cache file as the first layout wrote it (one JSON payload per scope, version 1)."""
    from ssm_tui.store import default_cache_path

    path = default_cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(_FIRST_LAYOUT)
        conn.execute("PRAGMA user_version=1")
        for (profile, region), payload in payloads.items():
            conn.execute(
                "INSERT INTO inventory VALUES (?, ?, ?, 1.0, ?)",
                (profile, region, "2026-11-23T09:00:00+00:00", payload),
            )
    return path


def test_cache_of_an_older_layout_is_migrated() -> None:
    """Payloads of the first layout (objects, or arrays with another field list) move over."""
    ping = "2026-11-23T08:59:00+00:00"
    objects = [
        {"profile": "prod", "account_id": "1", "region": "us-east-1", "instance_id": "i-1",
         "name": "web", "ping_status": "Online", "last_ping": ping, "tags": {"Name": "web"}}
    ]  # fmt: skip
    arrays = {
        "fields": ["instance_id", "gone_field", "profile", "account_id", "region", "name",
                   "ping_status", "last_ping"],
        "rows": [["mi-2", "x", "dev", "1", "eu-west-1", "hybrid", "Inactive", None]],
    }  # fmt: skip
    path = _first_layout_cache(
        {
            ("prod", "us-east-1"): json.dumps(objects),
            ("dev", "eu-west-1"): json.dumps(arrays),
            ("qa", "us-east-1"): '{"rows": []}',  # unreadable: dropped, it comes back on refresh
        }
    )
    store = Store()
    (dev, prod) = store.load_inventory()
    assert prod.instances[0].name == "web" and prod.instances[0].tags == {"Name": "web"}
    assert prod.instances[0].last_ping == datetime.fromisoformat(ping)
    assert prod.fetched_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert (dev.instances[0].instance_id, dev.instances[0].name) == ("mi-2", "hybrid")
    assert dev.instances[0].last_ping is None
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "inventory" not in tables
    # migrated scopes have no width hints: a first frame reads the whole cache
    assert store.first_online_by_name(10).widths is None


def test_an_unreadable_cache_row_drops_its_scope() -> None:
    store = Store()
    store.save_inventory(ScopeResult(Scope("prod", "us-east-1"), (_instance("i-1"),)), [1] * 9)
    store.save_inventory(ScopeResult(Scope("dev", "us-east-1"), (_instance("i-2"),)), [1] * 9)
    with sqlite3.connect(store.cache_path) as conn:
        conn.execute("UPDATE cached_instance SET row = '{' WHERE instance_id = 'i-1'")
    (dev,) = store.load_inventory()
    assert dev.scope == Scope("dev", "us-east-1")
    head = store.first_online_by_name(10)
    assert [i.instance_id for i in head.instances] == ["i-2"]
    assert (head.total, head.online) == (2, 2)


def test_a_cache_of_schema_1_gets_the_node_index_and_keeps_its_rows() -> None:
    """Schema 2 adds `cached_instance_by_node` (the first frame counts nodes through it); a
    cache file written by version 1 gets it when opened, with its rows as they were."""
    from ssm_tui.store import default_cache_path

    store = Store()
    scope = Scope("prod", "us-east-1")
    store.save_inventory(ScopeResult(scope, (_instance("i-1"), _instance("i-2"))), [8] * 10)
    with sqlite3.connect(default_cache_path()) as conn:  # as version 1 left it
        conn.execute("DROP INDEX cached_instance_by_node")
        conn.execute("PRAGMA user_version=1")
    reopened = Store()
    with sqlite3.connect(default_cache_path()) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert "cached_instance_by_node" in names and version == 2
    head = reopened.first_online_by_name(10)
    assert [i.instance_id for i in head.instances] == ["i-1", "i-2"]
    assert (head.total, head.online) == (2, 2)
