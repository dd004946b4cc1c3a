"""The fleet table's row render path with fitted columns (issue 15) against the default path.

A row is drawn once when it scrolls into view (then its line is cached), so what a filter
keystroke or a first frame pays per row is one call of the render path. This measures, on the
synthetic 10,000-instance fleet of `benchmarks/app.py` in one process, in alternating rounds:

- default: `FleetTable._row_line` (every default column, at a width that holds them);
- fitted: `ColumnLayout.line` at 80 columns (narrow status, the columns that fit);
- optional: `ColumnLayout.line` with three optional columns (Type, AMI, VPC) on;
- `FleetTable.show` (what a keystroke calls besides painting) with the default and with optional
  columns, and the column fit alone (what this change adds to every `show`).

Each figure is the median over rounds of the mean time per row (or per call). CPU only: no
terminal, no sandbox. Run: `.venv/bin/python benchmarks/fleet_columns.py [--rounds 15]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = 45
"""Rows on a first frame / after a keystroke at 50 lines."""


async def main(rounds: int) -> None:
    from textual.app import App, ComposeResult

    from benchmarks.app import make_instances
    from ssm_tui.aws.models import Scope
    from ssm_tui.ui import fleet_columns
    from ssm_tui.ui.fleet_model import FleetModel
    from ssm_tui.ui.widgets.fleet_table import FleetTable

    model = FleetModel()
    for (profile, region), instances in make_instances(10_000).items():
        model.replace_scope(Scope(profile, region), instances)
    keys = model.recompute()

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield FleetTable(model)

    app = Host()
    async with app.run_test(size=(400, 50)) as pilot:
        table = app.query_one(FleetTable)
        table.show(keys)
        await pilot.pause()
        assert table.extras.layout is None, "400 columns should hold every default column"
        rows = [model.rows[k] for k in keys[: ROWS * 20]]
        base, _ = table._styles()
        console = app.console
        narrow = fleet_columns.fit(fleet_columns.DEFAULT, model.widths, {}, 78)
        wanted = (*fleet_columns.DEFAULT, "type", "ami", "vpc")
        extra = {"type": 10, "ami": 21, "vpc": 21}
        optional = fleet_columns.fit(wanted, model.widths, extra, 400)
        assert narrow is not None and optional is not None

        def per_row(draw: object) -> float:
            start = time.perf_counter()
            for row in rows:
                draw(row)  # type: ignore[operator]
            return (time.perf_counter() - start) / len(rows) * 1e6

        results: dict[str, list[float]] = {"default": [], "fitted 80": [], "optional": []}
        shows: dict[str, list[float]] = {"show, default": [], "show, fitted": []}
        for _ in range(rounds):
            results["default"].append(per_row(lambda r: table._row_line(r, base)))
            results["fitted 80"].append(
                per_row(lambda r: narrow.line(r, base, console, table._styled, {}))
            )
            results["optional"].append(
                per_row(lambda r: optional.line(r, base, console, table._styled, {}))
            )
            for label, wanted_now in (("show, default", None), ("show, fitted", wanted)):
                table.extras.wanted = wanted_now or fleet_columns.DEFAULT
                table.show(keys, set())  # the first call may measure: not timed
                start = time.perf_counter()
                for _ in range(20):
                    table.show(keys, set())  # a keystroke: same rows, lines kept
                shows[label].append((time.perf_counter() - start) / 20 * 1e6)
        start = time.perf_counter()
        for _ in range(1000):
            table.fit_columns(False)
        fit_cost = (time.perf_counter() - start) / 1000 * 1e6
        default = statistics.median(results["default"])
        for label, values in results.items():
            value = statistics.median(values)
            print(
                f"{label:<12} {value:7.1f} µs per row   ({value / default:4.2f}× the default path)"
            )
        for label, values in shows.items():
            print(f"{label:<14} {statistics.median(values):7.1f} µs per call (10,000 rows)")
        print(f"of which the fit {fit_cost:7.1f} µs per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    asyncio.run(main(parser.parse_args().rounds))
