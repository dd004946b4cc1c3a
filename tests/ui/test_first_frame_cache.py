"""The first frame drawn from the cache's first rows is the frame of the whole cache.

A start reads only the rows it shows (`Store.first_online_by_name`) and the rest right after the
first frame. These tests hold that shortcut to the real thing: the same rows in the same order,
the same counts and column widths, through a real SQLite cache, and in the app's fleet table.
"""

from __future__ import annotations

import gc
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from ssm_tui.aws.models import Instance, Scope, ScopeResult
from ssm_tui.store import Store
from ssm_tui.ui.fleet_model import FleetModel, cache_widths
from ssm_tui.ui.services import Services
from ssm_tui.ui.widgets.fleet_view import FleetView

from .conftest import wait_until

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PROFILES = ("a", "a-b", "A", "prod")
"""Profile names whose keys ("a/…", "a-b/…") order differently from the names themselves."""
NAMES = st.text(alphabet=st.sampled_from("aAbBzZ-_ 0129éÉßİı数据🚀\t[]"), min_size=0, max_size=6)
"""Case pairs, digits, accents, dotted/dotless i (lowercase changes length), CJK, emoji."""


def _fleet(specs: list[tuple[int, str, int, int]]) -> dict[Scope, list[Instance]]:
    fleet: dict[Scope, list[Instance]] = {}
    names: dict[tuple[str, int], str] = {}
    for n, (profile, name, status, id_) in enumerate(specs):
        scope = Scope(PROFILES[profile], "us-east-1" if n % 3 else "eu-west-1")
        # one machine has one Name tag, whichever profile lists it (one fleet row per node)
        name = names.setdefault((scope.region, id_), name)
        fleet.setdefault(scope, []).append(
            Instance(
                profile=scope.profile,
                account_id="222222222222",
                region=scope.region,
                instance_id=f"i-{id_:04d}",  # the same id in two scopes: the key breaks the tie
                name=name,
                ping_status=("Online", "ConnectionLost", "Inactive")[status],
                platform_name="Amazon Linux" if n % 2 else "Ubuntu 数据",
                ip_address=f"10.0.0.{n % 250}",
                last_ping=NOW - timedelta(minutes=n),
                account_label=["acme-prod", "", "長い名前のアカウント"][n % 3],
            )
        )
    return fleet


def _cache(fleet: dict[Scope, list[Instance]], path: Path) -> Store:
    """A cache written as the app writes a refresh: through `Services.save`, with the column
    widths the app gives its services (`SsmTuiApp.__init__`)."""
    store = Store(path)
    services = Services(store=store, cache_widths=cache_widths)
    for scope, instances in fleet.items():
        services.save(ScopeResult(scope, tuple(instances)))
    services.flush()
    return store


SPECS = st.lists(
    st.tuples(st.integers(0, len(PROFILES) - 1), NAMES, st.integers(0, 2), st.integers(0, 30)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS, st.integers(1, 70))
def test_the_cache_head_is_the_start_of_the_whole_view(specs, limit):
    fleet = _fleet(specs)
    with tempfile.TemporaryDirectory() as folder:
        store = _cache(fleet, Path(folder) / "cache.sqlite3")
        head = store.first_online_by_name(limit)
        whole = FleetModel(clock=lambda: NOW)
        for result in store.load_inventory():
            whole.replace_scope(result.scope, result.instances)
        expected = whole.recompute()
        first = FleetModel(clock=lambda: NOW)
        if head.widths is None:  # no online row at all: nothing to preview
            assert not expected
            return
        shown = first.preview(
            head.instances, total=head.total, online=head.online, widths=head.widths
        )
    assert shown == expected[:limit]
    assert head.online == len(expected)
    assert first.counts()[:2] == whole.counts()[:2]
    assert first.widths == whole.widths


class FleetHost(App[None]):
    """The fleet view alone, on a prepared cache, recording what the table drew first."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.first: tuple[bool, list[str], str] | None = None

    def compose(self) -> ComposeResult:
        yield FleetView(self.services, id="fleet-view")

    def on_mount(self) -> None:
        self.query_one(FleetView).load_cache()

    def drawn(self) -> tuple[list[str], str]:
        fleet = self.query_one(FleetView)
        table = fleet.table
        lines = [table.render_line(y).text for y in range(table.size.height)]
        return lines, str(fleet.query_one("#fleet-status").render())

    def _display(self, screen, renderable) -> None:  # noqa: ANN001
        super()._display(screen, renderable)
        fleet = self.query(FleetView)
        if renderable is not None and self.first is None and fleet and fleet.first().table.size:
            self.first = (fleet.first()._cache_pending, *self.drawn())


async def test_the_table_first_draws_the_cache_head_exactly_as_the_whole_cache(tmp_path):
    specs = [(n % 4, f"{'web' if n % 2 else 'DB'}-{n % 37}", n % 3, n) for n in range(400)]
    store = _cache(_fleet(specs), tmp_path / "cache.sqlite3")
    app = FleetHost(Services(store=store, clock=lambda: NOW))
    async with app.run_test(size=(150, 30)) as pilot:
        fleet = app.query_one(FleetView)
        await wait_until(pilot, lambda: not fleet._cache_pending, "the rest of the cache")
        await pilot.pause()
        online = sum(1 for _, _, status, _ in specs if status == 0)
        assert fleet.table.row_count == online and len(fleet.model.rows) == 400
        assert app.first is not None
        pending, first_lines, first_status = app.first
        assert pending  # the first frame was drawn before the rest of the cache was read
        lines, status = app.drawn()
        assert first_status == status
        # (the filter box mounted after the first frame may take the table a line or two)
        assert min(len(first_lines), len(lines)) > 20
        for before, after in zip(first_lines, lines, strict=False):
            assert before == after
        assert first_status.startswith(f"{online} shown of 400 ({online} online)")


class EagerHost(FleetHost):
    """A key arrives before the rest of the cache was read: show-all right after the load."""

    def on_mount(self) -> None:
        fleet = self.query_one(FleetView)
        fleet.load_cache()
        self.pending_at_key = fleet._cache_pending
        fleet.action_toggle_online()
        self.rows_after_key = fleet.table.row_count  # what the next frame draws


async def test_a_key_before_the_rest_of_the_cache_sees_every_row(tmp_path):
    specs = [(n % 4, f"node-{n}", n % 3, n) for n in range(300)]
    store = _cache(_fleet(specs), tmp_path / "cache.sqlite3")
    app = EagerHost(Services(store=store, clock=lambda: NOW))
    async with app.run_test(size=(150, 30)) as pilot:
        await pilot.pause()
        fleet = app.query_one(FleetView)
        assert app.pending_at_key  # the preview was up when the key came
        assert app.rows_after_key == 300
        assert fleet.table.row_count == 300  # every status, every cached row
        assert str(fleet.query_one("#fleet-status").render()).startswith("300 shown of 300")


async def test_the_cached_fleet_is_left_out_of_garbage_collections_while_the_fleet_is_up(
    tmp_path,
):
    """Issue 15: a full collection walked the whole cached fleet (0.3-1 s at 10,000 nodes, in
    the middle of a filter keystroke). Once the cache is read, what is alive is frozen out of
    the collector; when the fleet goes, it is handed back (a process running many apps, as the
    tests do, then collects each one's leftovers)."""
    specs = [(n % 4, f"node-{n}", n % 3, n) for n in range(300)]
    store = _cache(_fleet(specs), tmp_path / "cache.sqlite3")
    app = FleetHost(Services(store=store, clock=lambda: NOW))
    async with app.run_test(size=(150, 30)) as pilot:
        fleet = app.query_one(FleetView)
        await wait_until(pilot, lambda: not fleet._cache_pending, "the rest of the cache")
        frozen = gc.get_freeze_count()
        assert frozen > len(fleet.model.rows)  # the rows (and their instances) among them
        young = {id(o) for o in gc.get_objects()}  # the objects collections still walk
        assert not any(id(row) in young for row in fleet.model.rows.values())
        gc.collect()
        assert len(fleet.model.rows) == 300  # frozen rows are not lost, only not walked
    assert gc.get_freeze_count() == 0
