"""SQLite storage: the inventory cache and the local record of sessions this machine started.

Two files, because they have different lifetimes: the inventory cache is disposable (platformdirs'
user *cache* dir: deleting it only costs one slower start), the session record is the user's
history (user *data* dir). Both honour XDG_CACHE_HOME / XDG_DATA_HOME.

Every call opens its own connection and runs one short transaction, so the app's UI thread, its
workers and a CLI process can share the files; WAL mode lets readers run beside a writer.
Writes take the lock when they begin (BEGIN IMMEDIATE). A busy database is waited for: SQLite's
busy timeout per statement, then the whole call again, with a growing pause, until
`LOCK_PATIENCE` has passed. Under load another app can hold the lock longer than the busy timeout
(a commit stalled in fsync, a process descheduled), and two apps on one store must not lose a
write to that ("database is locked" used to set `record_off`, and skipped cache writes).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import platformdirs

from ssm_tui.aws.models import (
    Instance,
    PingStatus,
    Scope,
    ScopeResult,
    StartedSession,
)

APP_NAME = "ssm-tui"
SCHEMA_VERSION = 2
"""2: the session record's `run_as` / `run_as_source` columns (issue 17) and the cache's
`cached_instance_by_node` index (the first frame's node count, issue 15)."""
BUSY_TIMEOUT = 10.0
"""Seconds SQLite waits for a lock within one statement (its busy handler)."""
LOCK_PATIENCE = 60.0
"""Seconds a call retries a database another connection keeps locked, before it gives up."""
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (extended codes: the low byte)

T = TypeVar("T")


def _is_busy(exc: BaseException) -> bool:
    """Is this "database is locked" (another connection holds the lock), not a broken file?"""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


def _patiently(call: Callable[[], T], patience: float | None = None) -> T:
    """`call()`, again while the database is busy, until `patience` (LOCK_PATIENCE) runs out."""
    deadline = time.monotonic() + (LOCK_PATIENCE if patience is None else patience)
    pause = 0.02
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def _connection(path: Path) -> sqlite3.Connection:
    """A connection whose writes take the lock when they begin (no read-then-write upgrade,
    which WAL answers with an immediate SQLITE_BUSY that no busy timeout waits out)."""
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level="IMMEDIATE")


_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_scope (
    profile TEXT NOT NULL,
    region TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    elapsed REAL NOT NULL,
    fields TEXT NOT NULL,
    widths TEXT,
    PRIMARY KEY (profile, region)
);
CREATE TABLE IF NOT EXISTS cached_instance (
    profile TEXT NOT NULL,
    region TEXT NOT NULL,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    online INTEGER NOT NULL,
    name_order TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (profile, region, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cached_instance_by_name
    ON cached_instance (online, name_order, instance_id, key);
CREATE INDEX IF NOT EXISTS cached_instance_by_node
    ON cached_instance (region, instance_id, online);
"""
"""One row per cached instance (a JSON array in its scope's `fields` order), indexed in the
fleet's default order so a first frame reads only the rows it draws (`first_online_by_name`).
`widths` is the caller's display hint for the scope (the fleet's column widths over its rows).
`cached_instance_by_node` lets the first frame count nodes (a node is listed once per profile
reaching it) without sorting every row: 9 ms -> 1.3 ms for 6,000 rows (schema version 2)."""

_DATA_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    target TEXT NOT NULL,
    document_name TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    exit_status INTEGER,
    plugin TEXT NOT NULL,
    run_as TEXT,
    run_as_source TEXT
);
CREATE INDEX IF NOT EXISTS sessions_target ON sessions (target, started_at);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_at);
CREATE TABLE IF NOT EXISTS denials (
    profile TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    denied_at TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (profile, instance_id)
);
"""
"""`denials`: StartSession answered AccessDenied for this profile on this instance (issue 15), so
the next Enter picks another profile instead of repeating it; a session that starts clears it."""
_DATA_COLUMNS = {"run_as": "TEXT", "run_as_source": "TEXT"}
"""Columns added to `sessions` after its first layout (an older file gets them on open)."""


class LocalSession(NamedTuple):
    """A session this machine started, as recorded when it started and ended."""

    session_id: str
    profile: str
    account_id: str
    region: str
    target: str
    document_name: str | None
    started_at: datetime
    ended_at: datetime | None
    exit_status: int | None
    """The REMOTE command's status when one came back (`connect --command`); None when none is
    known: the agent sends none for shell sessions, and a plugin's own exit code (0, or 143 for a
    closed tab) is not the remote status."""
    plugin: str
    """'official' (session-manager-plugin) or 'builtin' (ssm-tui's own data channel)."""
    run_as: str | None = None
    """The OS user the session ran as (Run As), as read just before it started; None: unknown
    (not a shell session, or the preferences were unreadable)."""
    run_as_source: str | None = None
    """Where the preview read it: 'preferences' (runAsDefaultUser), 'tag' (the principal's
    SSMSessionRunAs) or 'default' (Run As off: ssm-user)."""


def default_cache_path() -> Path:
    return platformdirs.user_cache_path(APP_NAME) / "inventory.sqlite3"


def default_data_path() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "sessions.sqlite3"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_INSTANCE_FIELDS = tuple(f.name for f in fields(Instance))
_LAST_PING = _INSTANCE_FIELDS.index("last_ping")


def _instance_to_row(instance: Instance) -> list[Any]:
    """One instance as a JSON array in `_INSTANCE_FIELDS` order.

    Arrays, not objects: the cache is read on every start, and building instances positionally
    from arrays halves that read (measured: 2,000 instances, 31 → 18 ms). The field list is
    stored with each scope, so a newer version with other fields still reads an older cache by
    name.
    """
    row = [getattr(instance, name) for name in _INSTANCE_FIELDS]
    row[_LAST_PING] = _iso(instance.last_ping)
    return row


def _instances_from_rows(names: tuple[str, ...], rows: list[list[Any]]) -> tuple[Instance, ...]:
    """Instances from JSON arrays whose fields are `names` (this version's, or another's)."""
    if names != _INSTANCE_FIELDS:
        return tuple(_instance_from_json(dict(zip(names, row, strict=True))) for row in rows)
    fromisoformat = datetime.fromisoformat
    out = []
    for row in rows:  # the fast path: this version wrote it
        ping = row[_LAST_PING]
        if ping:
            row[_LAST_PING] = fromisoformat(ping)
        out.append(Instance(*row))
    return tuple(out)


def _instances_from_payload(text: str) -> tuple[Instance, ...]:
    """Instances from a scope payload of the first cache layout (`inventory` table): migration.

    Either `{"fields", "rows"}` or, older still, a list of objects.
    """
    data = json.loads(text)
    if isinstance(data, list):
        return tuple(_instance_from_json(d) for d in data)
    return _instances_from_rows(tuple(data["fields"]), data["rows"])


def _instance_from_json(data: dict[str, Any]) -> Instance:
    known = {k: v for k, v in data.items() if k in _INSTANCE_FIELDS}
    known["last_ping"] = _time(known.get("last_ping"))
    known["tags"] = dict(known.get("tags") or {})
    return Instance(**known)


class CacheHead(NamedTuple):
    """The start of the cached fleet in its default view: enough to draw a first frame.

    The fleet shows Online instances by name; drawing its first screen needs those first rows,
    how many rows there are, and how wide the columns are over all of them, not all 2,000
    instances (reading and building those was most of a first frame's own time).
    """

    instances: tuple[Instance, ...]
    """The first Online nodes in name order (case-insensitive name, id, then key), each as
    every profile that lists it sees it."""
    total: int
    """Nodes (a region and instance id), however many profiles list each."""
    online: int
    widths: tuple[int, ...] | None
    """Widest of each scope's saved `widths`; None when a scope was saved without them."""


def _write_scope(
    conn: sqlite3.Connection, result: ScopeResult, widths: Sequence[int] | None
) -> None:
    """Replace one scope's rows (inside the caller's transaction)."""
    profile, region = result.scope.profile, result.scope.region
    fetched = result.fetched_at or datetime.now(UTC)
    conn.execute("DELETE FROM cached_instance WHERE profile = ? AND region = ?", (profile, region))
    conn.executemany(
        "INSERT INTO cached_instance"
        " (profile, region, position, key, online, name_order, instance_id, row)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                profile,
                region,
                position,
                i.key,
                i.ping_status == PingStatus.ONLINE,
                i.name.lower(),
                i.instance_id,
                json.dumps(_instance_to_row(i)),
            )
            # one row per key, the last one seen (as the fleet model keeps them)
            for position, i in enumerate({i.key: i for i in result.instances}.values())
        ],
    )
    conn.execute(
        "INSERT OR REPLACE INTO cached_scope (profile, region, fetched_at, elapsed, fields, widths)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            profile,
            region,
            _iso(fetched),
            result.elapsed,
            json.dumps(_INSTANCE_FIELDS),
            json.dumps(list(widths)) if widths is not None else None,
        ),
    )


def _add_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Add the `columns` an older file's `table` lacks (NULL in its old rows)."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another ssm-tui added it meanwhile
                if "duplicate column" not in str(exc):
                    raise


def _migrate_inventory(conn: sqlite3.Connection) -> None:
    """Move a cache of the first layout (one JSON payload per scope) into the current tables.

    Unreadable scopes are dropped (the cache is disposable: they come back on the next
    refresh). They have no width hints, so the first start after the upgrade reads everything.
    """
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inventory'"
    ).fetchone()
    if not found:
        return
    try:
        with conn:
            _move_inventory(conn)
    except sqlite3.OperationalError:  # another ssm-tui migrated it meanwhile: nothing to move
        return


def _move_inventory(conn: sqlite3.Connection) -> None:
    """Each readable scope of the `inventory` table into the current tables, then drop it."""
    for profile, region, fetched_at, elapsed, payload in conn.execute(
        "SELECT profile, region, fetched_at, elapsed, instances FROM inventory"
    ).fetchall():
        try:
            instances = _instances_from_payload(payload)
        except (ValueError, TypeError, KeyError):
            continue
        scope = ScopeResult(
            Scope(profile, region),
            instances=instances,
            elapsed=elapsed,
            fetched_at=_time(fetched_at),
        )
        _write_scope(conn, scope, None)
    conn.execute("DROP TABLE inventory")


def _private_dir(path: Path, *, ours: bool) -> None:
    """Create `path` as 0700; tighten it to 0700 when it is ssm-tui's own folder.

    The files hold account ids, instance names, IPs, tags and who connected where: no other
    local user should read them. A folder the caller named itself (`Store(path)` in /tmp, say)
    is created private but never changed if it already exists.
    """
    existed = path.is_dir()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (ours or not existed) and path.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # not ours to change: still usable
            os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create `path` 0600 (SQLite gives its -wal and -shm files the database file's mode).

    An existing file is only stat'ed and chmod'ed, never opened: closing any descriptor of a
    file drops every POSIX lock this process holds on it, SQLite's included (another thread's
    open connection would silently lose its locks).
    """
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        with contextlib.suppress(OSError):
            if side.stat().st_mode & 0o077:
                os.chmod(side, 0o600)


def _set_aside(path: Path) -> Path:
    """Move an unreadable database (and its -wal/-shm) out of the way; the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, aside)
    for extra in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.remove(path.with_name(path.name + extra))
    return aside


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class Store:
    """The inventory cache and the local session record.

    `path` puts both tables in that one file (tests, portable setups); by default the cache lives
    in the user cache dir and the session record in the user data dir.

    Neither file ever stops a command or the app. The cache is disposable: a file that is not a
    database (garbage bytes, a half-written disk) is set aside and a new one made; when it cannot
    be written at all (read-only folder, full disk) the cache is off and `cache_off` says why,
    for the UI and the CLIs to show. The session record is the user's history: an unreadable one
    is set aside under a `.corrupt-<time>` name (never deleted) and recording goes on in a new
    file; if it cannot be written, `record_off` says why and sessions still run.
    """

    def __init__(self, path: Path | None = None, *, cache_path: Path | None = None) -> None:
        self.data_path = Path(path) if path is not None else default_data_path()
        self.cache_path = (
            Path(cache_path)
            if cache_path is not None
            else (self.data_path if path is not None else default_cache_path())
        )
        self._ours = path is None  # the platformdirs folders are ssm-tui's own
        self.cache_off: str | None = None
        """Why the inventory cache is not used (None: it works)."""
        self.record_off: str | None = None
        """Why sessions are not recorded (None: they are)."""
        self.notes: list[str] = []
        """What was repaired on the way (a file set aside), for the user to hear about once."""
        self.cache_off = self._open(self.cache_path, _CACHE_SCHEMA, "cached_instance", "cache")
        self._data_ready = False
        """The session record is opened on first use: a start reads only the cache."""

    def _open(self, path: Path, schema: str, table: str, what: str) -> str | None:
        """Make `path` usable (private, tables created, unreadable file set aside): None, or
        why it cannot be used."""
        label = "inventory cache" if what == "cache" else "session record"
        try:
            _private_dir(path.parent, ours=self._ours)
            _private_file(path)
            try:
                _patiently(lambda: self._init(path, schema, table))
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise  # locked, read-only, cannot open: the file itself is not at fault
                aside = _set_aside(path)
                self.notes.append(f"{label} {path} was unreadable ({exc}); set aside as {aside}")
                _private_file(path)
                self._init(path, schema, table)
        except (sqlite3.Error, OSError) as exc:
            off = "off" if what == "cache" else "not recorded"
            return f"{label} {off}: cannot use {path}: {_reason(exc)}"
        return None

    @staticmethod
    def _init(path: Path, schema: str, table: str) -> None:
        """Create the tables once; a file that has them is only opened (no write at start-up)."""
        conn = _connection(path)
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            if found and conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(schema)
            if table == "denials":
                _add_columns(conn, "sessions", _DATA_COLUMNS)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.commit()
            if table == "cached_instance":
                _migrate_inventory(conn)
        finally:
            conn.close()

    @staticmethod
    @contextmanager
    def _connect(path: Path) -> Iterator[sqlite3.Connection]:
        """One short transaction on its own connection (thread-safe by construction)."""
        conn = _connection(path)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _run(self, path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(conn)` in one transaction, the whole of it again while the file is busy."""

        def once() -> T:
            with self._connect(path) as conn:
                return work(conn)

        return _patiently(once)

    def _data_ready_now(self) -> None:
        """The session record's tables, created on first use (`record_off` says if not)."""
        if not self._data_ready:
            self.record_off = self._open(self.data_path, _DATA_SCHEMA, "denials", "record")
            self._data_ready = True

    def _cache_failed(self, exc: sqlite3.Error) -> None:
        """A cache call failed: a broken file turns the cache off; one busy past all patience
        only skips this call (the cache is disposable)."""
        if not _is_busy(exc):
            self.cache_off = f"inventory cache off: {self.cache_path}: {_reason(exc)}"

    # ------------------------------------------------------------------ inventory cache

    def save_inventory(self, result: ScopeResult, widths: Sequence[int] | None = None) -> None:
        """Remember a scope's instances. Failed scopes are not saved: the last good list stays.

        `widths` is the caller's display hint for these rows (the fleet's column widths), given
        back by `first_online_by_name`.
        """
        if result.error is not None or result.from_cache or self.cache_off:
            return
        try:
            self._run(self.cache_path, lambda conn: _write_scope(conn, result, widths))
        except sqlite3.Error as exc:  # the cache is disposable: the listing itself stands
            self._cache_failed(exc)

    def load_inventory(self) -> list[ScopeResult]:
        """Every cached scope (from_cache=True, fetched_at = when it was listed)."""
        if self.cache_off:
            return []

        def read(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            scopes = conn.execute(
                "SELECT profile, region, fetched_at, elapsed, fields FROM cached_scope"
                " ORDER BY profile, region"
            ).fetchall()
            rows = conn.execute(
                "SELECT profile, region, row FROM cached_instance"
                " ORDER BY profile, region, position"
            ).fetchall()
            return scopes, rows

        try:
            scopes, rows = self._run(self.cache_path, read)
        except sqlite3.Error as exc:
            self._cache_failed(exc)
            return []
        texts: dict[tuple[str, str], list[str]] = {}
        for profile, region, row in rows:
            texts.setdefault((profile, region), []).append(row)
        out = []
        for profile, region, fetched_at, elapsed, names in scopes:
            try:
                # one JSON document per scope: a single parse is cheaper than one per row
                arrays = json.loads("[" + ",".join(texts.get((profile, region), ())) + "]")
                instances = _instances_from_rows(tuple(json.loads(names)), arrays)
            except (ValueError, TypeError, KeyError):
                continue  # written by an incompatible version: ignore, it will refresh
            out.append(
                ScopeResult(
                    Scope(profile, region),
                    instances=instances,
                    elapsed=elapsed,
                    from_cache=True,
                    fetched_at=_time(fetched_at),
                )
            )
        return out

    def first_online_by_name(self, limit: int) -> CacheHead:
        """The first `limit` cached Online instances in the fleet's default order, and counts.

        The order is the fleet table's default sort: name lowercased, instance id, then key
        (SQLite compares text as UTF-8 bytes, which orders like Python's code points).
        Unreadable rows are skipped here; `load_inventory` then drops their scope.
        """
        if self.cache_off:
            return CacheHead((), 0, 0, None)

        def read(conn: sqlite3.Connection) -> tuple[list[Any], tuple[int, int], list[Any]]:
            # the first `limit` nodes (one per region and id, however many profiles see
            # it), each with every profile's row: the fleet shows one row per node
            head = conn.execute(
                "WITH firsts AS (SELECT DISTINCT name_order, instance_id, region"
                " FROM cached_instance WHERE online = 1"
                " ORDER BY name_order, instance_id, region LIMIT ?)"
                # CROSS JOIN keeps that order of the loops: SQLite's own choice scanned every
                # online row to look each up in `firsts` (11 ms instead of 4 for 6,000 rows,
                # most of the first frame's cache read)
                " SELECT s.fields, i.row FROM firsts AS f"
                " CROSS JOIN cached_instance AS i ON i.online = 1"
                " AND i.name_order = f.name_order AND i.instance_id = f.instance_id"
                " AND i.region = f.region"
                " JOIN cached_scope AS s ON s.profile = i.profile AND s.region = i.region"
                " ORDER BY i.name_order, i.instance_id, i.key",
                (limit,),
            ).fetchall()
            total, online = conn.execute(
                "SELECT count(*), coalesce(sum(online), 0) FROM"
                " (SELECT max(online) AS online FROM cached_instance"
                " GROUP BY region, instance_id)"
            ).fetchone()
            saved = [w for (w,) in conn.execute("SELECT widths FROM cached_scope")]
            return head, (total, online), saved

        try:
            head, (total, online), saved = self._run(self.cache_path, read)
        except sqlite3.Error as exc:
            self._cache_failed(exc)
            return CacheHead((), 0, 0, None)
        instances: list[Instance] = []
        layouts: dict[str, tuple[str, ...]] = {}  # each scope's field list, parsed once
        for names, row in head:
            try:
                layout = layouts.get(names) or layouts.setdefault(names, tuple(json.loads(names)))
                instances += _instances_from_rows(layout, [json.loads(row)])
            except (ValueError, TypeError, KeyError):
                continue
        widths: tuple[int, ...] | None = None
        if saved and all(saved):
            lists = [json.loads(w) for w in saved]
            if len({len(w) for w in lists}) == 1:
                widths = tuple(max(column) for column in zip(*lists, strict=True))
        return CacheHead(tuple(instances), total, online, widths)

    def clear_inventory(self) -> None:
        if self.cache_off:
            return

        def clear(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM cached_instance")
            conn.execute("DELETE FROM cached_scope")

        try:
            self._run(self.cache_path, clear)
        except sqlite3.Error as exc:
            self._cache_failed(exc)

    # ------------------------------------------------------------------ local session record

    def record_session_start(
        self,
        started: StartedSession,
        *,
        account_id: str,
        plugin: str,
        run_as: str | None = None,
        run_as_source: str | None = None,
    ) -> None:
        """Record a session the moment StartSession returned (never the token).

        `run_as`: the OS user the Run As preview read before the start, when it knew one.
        Never raises: a record that cannot be written must not stop the session (`record_off`).
        """
        try:
            self._record(
                "INSERT OR REPLACE INTO sessions (session_id, profile, account_id, region, target,"
                " document_name, started_at, ended_at, exit_status, plugin, run_as, run_as_source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
                (
                    started.session_id,
                    started.profile,
                    account_id,
                    started.region,
                    started.target,
                    started.document_name,
                    _iso(datetime.now(UTC)),
                    plugin,
                    run_as or None,
                    (run_as_source or None) if run_as else None,
                ),
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record not written: {self.data_path}: {_reason(exc)}"

    def _record(self, sql: str, params: tuple[Any, ...]) -> None:
        """One write to the session record (nothing when it is off)."""
        self._data_ready_now()
        if self.record_off:
            return
        self._run(self.data_path, lambda conn: conn.execute(sql, params))

    def record_run_as(self, session_id: str, run_as: str, run_as_source: str) -> None:
        """The Run As user of a recorded session, read while it started (the app reads it on
        the AWS loop beside StartSession). Never raises; unknown ids are ignored."""
        try:
            self._record(
                "UPDATE sessions SET run_as = ?, run_as_source = ? WHERE session_id = ?",
                (run_as, run_as_source, session_id),
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record not written: {self.data_path}: {_reason(exc)}"

    def record_session_end(
        self, session_id: str, *, exit_status: int | None, ended_at: datetime | None = None
    ) -> None:
        """Mark a recorded session as ended (unknown ids are ignored). Never raises.

        `exit_status` is the remote status, or None when none is known (never a plugin's code).
        """
        try:
            self._record(
                "UPDATE sessions SET ended_at = ?, exit_status = ? WHERE session_id = ?",
                (_iso(ended_at or datetime.now(UTC)), exit_status, session_id),
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record not written: {self.data_path}: {_reason(exc)}"

    # ------------------------------------------------------------------ denials (issue 15)

    def record_denial(self, profile: str, instance_id: str, message: str) -> None:
        """StartSession was denied to `profile` on `instance_id`. Never raises."""
        try:
            self._record(
                "INSERT OR REPLACE INTO denials (profile, instance_id, denied_at, message)"
                " VALUES (?, ?, ?, ?)",
                (profile, instance_id, _iso(datetime.now(UTC)), message),
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record not written: {self.data_path}: {_reason(exc)}"

    def clear_denial(self, profile: str, instance_id: str) -> None:
        """A session started: the profile is no longer denied there (a policy changed)."""
        try:
            self._record(
                "DELETE FROM denials WHERE profile = ? AND instance_id = ?", (profile, instance_id)
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record not written: {self.data_path}: {_reason(exc)}"

    def denials(self) -> dict[tuple[str, str], str]:
        """(profile, instance id) -> the denial's message, for every remembered denial."""
        self._data_ready_now()
        if self.record_off:
            return {}
        try:
            rows = self._run(
                self.data_path,
                lambda conn: conn.execute(
                    "SELECT profile, instance_id, message FROM denials"
                ).fetchall(),
            )
        except sqlite3.Error:
            return {}
        return {(row["profile"], row["instance_id"]): row["message"] for row in rows}

    def last_profiles(self) -> dict[str, str]:
        """Instance id -> the profile of the newest session this machine started on it."""
        self._data_ready_now()
        if self.record_off:
            return {}
        try:
            rows = self._run(
                self.data_path,
                lambda conn: conn.execute(
                    "SELECT target, profile FROM sessions ORDER BY started_at, rowid"
                ).fetchall(),
            )
        except sqlite3.Error:
            return {}
        return {row["target"]: row["profile"] for row in rows}

    def local_sessions(self, target: str | None = None, limit: int = 500) -> list[LocalSession]:
        """Recorded sessions, newest first; only those on `target` when given."""
        query = "SELECT * FROM sessions"
        params: tuple[Any, ...] = ()
        if target is not None:
            query += " WHERE target = ?"
            params = (target,)
        query += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        self._data_ready_now()
        if self.record_off:
            return []
        try:
            rows = self._run(
                self.data_path, lambda conn: conn.execute(query, (*params, limit)).fetchall()
            )
        except sqlite3.Error as exc:
            self.record_off = f"session record unreadable: {self.data_path}: {_reason(exc)}"
            return []
        return [
            LocalSession(
                session_id=row["session_id"],
                profile=row["profile"],
                account_id=row["account_id"],
                region=row["region"],
                target=row["target"],
                document_name=row["document_name"],
                started_at=_time(row["started_at"]) or datetime.now(UTC),
                ended_at=_time(row["ended_at"]),
                exit_status=row["exit_status"],
                plugin=row["plugin"],
                run_as=row["run_as"],
                run_as_source=row["run_as_source"],
            )
            for row in rows
        ]
