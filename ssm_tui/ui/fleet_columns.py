"""The fleet table's columns: which show, in what order, and which fit the window (issue 15).

Every column has a priority. When the window cannot hold them all, the status column turns
narrow (a glyph and a short word) and the columns of lowest priority leave, so at 80 columns the
ones that matter stay (name, status, account, profile: never dropped, only cut as a last resort)
instead of the table being cropped on the right. Optional columns show the detail panel's fields
(instance type, EC2 state, AMI, VPC, subnet, IAM role, OS, computer name, resource type); the
`C` key and the palette turn them on and off, the `columns` setting chooses them, and the last
choice is remembered between runs (a small JSON file beside the UI state). A Connected column
(who is connected now, from AWS DescribeSessions) appears whenever someone is.

The default columns at a width that holds them are drawn by the table's own path
(`FleetTable._row_line`); everything else by `ColumnLayout.line`, which makes the same strings
and segments (no `Text` per cell) so a row costs what it cost before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from ssm_tui.aws.models import Instance
from ssm_tui.ui.fleet_model import COLUMNS, PING_STYLES, FleetRow, literal

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

GAP = 2
"""Cells between columns (as `fleet_table._GAP`)."""
ESSENTIAL = frozenset({"status", "name", "account", "profile"})
"""Columns that never leave for lack of room (the issue's "columns that matter")."""
SHORT_STATUS: dict[str, str] = {
    "Online": "online",
    "ConnectionLost": "lost",
    "Inactive": "inactive",
}
"""The narrow status column's words (each one a `status:` filter word)."""
NARROW_STATUS = 2 + max(map(len, SHORT_STATUS.values()))
LEAST: dict[str, int] = {"profile": 10, "account": 10, "name": 12}
"""How far an essential column is cut when even they do not fit (the order is the cut order)."""
MARK = "✔"
"""Drawn over a marked row's status dot (issue 16's row marking)."""
WHO = "who"
"""The Connected column's key."""


class Column(NamedTuple):
    """One column of the fleet table."""

    key: str
    title: str
    priority: int
    """The lowest leave first when the window is too narrow (`ESSENTIAL` never do)."""
    base: int = -1
    """Its index in `fleet_model.COLUMNS` (the row's own texts); -1 for an optional column."""
    text: Callable[[Instance], str] | None = None
    """An optional column's text (`-` stands for empty)."""
    max_width: int = 24


_PRIORITY = {
    "status": 100, "name": 100, "account": 100, "profile": 100, "id": 60, "region": 50,
    "ip": 40, "platform": 30, "agent": 20, "ping": 10,
}  # fmt: skip

BASE: tuple[Column, ...] = tuple(
    Column(key, title, _PRIORITY[key], base=n) for n, (key, title) in enumerate(COLUMNS)
)
OPTIONAL: tuple[Column, ...] = (
    Column(WHO, "Connected", 90, max_width=28),
    Column("type", "Type", 45, text=lambda i: i.instance_type, max_width=16),
    Column("state", "State", 44, text=lambda i: i.instance_state, max_width=14),
    Column("os", "OS", 43, text=lambda i: i.platform_type, max_width=10),
    Column("ami", "AMI", 35, text=lambda i: i.image_id, max_width=21),
    Column("vpc", "VPC", 34, text=lambda i: i.vpc_id, max_width=21),
    Column("subnet", "Subnet", 33, text=lambda i: i.subnet_id, max_width=24),
    Column("iam", "IAM role", 32, text=lambda i: i.iam_role.rsplit("/", 1)[-1], max_width=28),
    Column("computer", "Computer", 31, text=lambda i: i.computer_name, max_width=28),
    Column("resource", "Resource", 15, text=lambda i: i.resource_type, max_width=15),
)
"""The detail panel's fields as columns (each title's first word is a filter prefix)."""
KNOWN: dict[str, Column] = {c.key: c for c in (*BASE, *OPTIONAL)}
DEFAULT: tuple[str, ...] = tuple(c.key for c in BASE)


def resolve(names: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """(column keys, names that are no column) from keys or titles, any case, each once."""
    by_name = {**{c.title.lower(): c.key for c in KNOWN.values()}, **{k: k for k in KNOWN}}
    keys: list[str] = []
    unknown: list[str] = []
    for name in names:
        key = by_name.get(name.strip().lower())
        if key is None:
            unknown.append(name)
        elif key not in keys:
            keys.append(key)
    return tuple(keys), unknown


def with_essentials(keys: Sequence[str]) -> tuple[str, ...]:
    """`keys` with any missing essential column put back in its default place."""
    out = list(keys)
    for n, key in enumerate(DEFAULT):
        if key in ESSENTIAL and key not in out:
            before = [out.index(k) for k in DEFAULT[:n] if k in out]
            out.insert(max(before) + 1 if before else 0, key)
    return tuple(out)


def toggled(keys: Sequence[str], key: str) -> tuple[str, ...]:
    """The columns with `key` turned off if shown, else on (optional ones go at the end, base
    ones back to their default place); essential columns stay."""
    if key in ESSENTIAL:
        return tuple(keys)
    if key in keys:
        return tuple(k for k in keys if k != key)
    if KNOWN[key].base < 0:
        return (*keys, key)
    order = {k: n for n, k in enumerate(DEFAULT)}
    out = list(keys)
    place = next((n for n, k in enumerate(out) if order.get(k, -1) > order[key]), len(out))
    out.insert(place, key)
    return tuple(out)


def who_text(people: Sequence[str]) -> str:
    """The Connected cell: the first person and how many others (`◆ alice +1`)."""
    unique = list(dict.fromkeys(people))
    if not unique:
        return ""
    return f"◆ {unique[0]}" + (f" +{len(unique) - 1}" if len(unique) > 1 else "")


def _fit_cells(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    if text.isascii() and text.isprintable():
        if len(text) > width:
            return text[: width - 1] + "…"
        return text.ljust(width)
    if not text.isprintable():
        text = literal(text).plain  # controls as `^[`, bidi characters escaped
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class ColumnLayout(NamedTuple):
    """The columns a table draws and their widths (when not the default path's)."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    narrow: bool = False
    """The status column shows a short word (`SHORT_STATUS`)."""

    @property
    def width(self) -> int:
        return sum(self.widths) + GAP * len(self.widths)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def column_at(self, x: int) -> str | None:
        """The sortable (base) column under a header click."""
        left = 0
        for column, width in zip(self.columns, self.widths, strict=True):
            if left <= x < left + width + GAP:
                return column.key if column.base >= 0 else None
            left += width + GAP
        return None

    def line(
        self,
        row: FleetRow,
        style: Style,
        console: Any,
        styled: dict[Any, list[Segment]],
        who: Mapping[str, str],
    ) -> Strip:
        """One row: the same strings and cached status segments as the default path."""
        texts = row.texts
        plain = row.plain
        segments: list[Segment] = []
        parts: list[str] = []
        for column, width in zip(self.columns, self.widths, strict=True):
            if column.key == "status":
                if parts:
                    segments.append(Segment("".join(parts), style))
                    parts = []
                status = texts[0]
                word = SHORT_STATUS.get(status, status.lower()) if self.narrow else status
                rendered = styled.get((word, "status", ""))
                if rendered is None:
                    dot, colour = PING_STYLES.get(status, ("○", "dim"))
                    cell = Text.assemble((dot, colour), " ", (word, colour), end="")
                    rendered = styled[(word, "status", "")] = list(cell.render(console))
                segments.extend(Segment.apply_style(rendered, style))
                parts.append(" " * max(width - 2 - len(word) + GAP, GAP))
                continue
            if column.base >= 0:
                text = texts[column.base]
                if plain:
                    parts.append(
                        (text[: width - 1] + "…" if len(text) > width else text).ljust(width + GAP)
                    )
                    continue
            elif column.key == WHO:
                text = who.get(row.key, "")
            else:
                text = column.text(row.instance) if column.text is not None else ""
                text = text or "-"
            parts.append(_fit_cells(text, width) + " " * GAP)
        if parts:
            segments.append(Segment("".join(parts), style))
        return Strip(segments, self.width)

    def header(self, style: Style, sorted_style: Style, sort: str, reverse: bool) -> Strip:
        segments = []
        for column, width in zip(self.columns, self.widths, strict=True):
            title = column.title
            if column.key == sort:
                title = f"{title} {'▼' if reverse else '▲'}"
                segments.append(Segment(_fit_cells(title, width), style + sorted_style))
                segments.append(Segment(" " * GAP, style))
            else:
                segments.append(Segment(_fit_cells(title, width) + " " * GAP, style))
        return Strip(segments, self.width)


def fit(
    wanted: Sequence[str], base_widths: Sequence[int], extra: Mapping[str, int], room: int
) -> ColumnLayout | None:
    """The columns of `wanted` that fit in `room` cells; None: the default path draws them.

    Narrow status first; then the essential columns and, by priority, each other column that
    still fits; then, if even the essential ones do not fit, they are cut down to `LEAST`.
    """
    columns = [KNOWN[key] for key in wanted]
    widths = [
        base_widths[c.base] if c.base >= 0 else max(extra.get(c.key, 0), len(c.title))
        for c in columns
    ]

    def total() -> int:
        return sum(widths) + GAP * len(widths)

    if total() <= room:
        if tuple(wanted) == DEFAULT:
            return None
        return ColumnLayout(tuple(columns), tuple(widths))
    for n, column in enumerate(columns):
        if column.key == "status":
            widths[n] = min(widths[n], NARROW_STATUS)
    # the essential columns, then each other one by priority (leftmost first) if it still fits
    kept = {n for n, c in enumerate(columns) if c.key in ESSENTIAL}
    used = sum(widths[n] + GAP for n in kept)
    for n in sorted(set(range(len(columns))) - kept, key=lambda n: (-columns[n].priority, n)):
        if used + widths[n] + GAP <= room:
            kept.add(n)
            used += widths[n] + GAP
    columns = [c for n, c in enumerate(columns) if n in kept]
    widths = [w for n, w in enumerate(widths) if n in kept]
    keys = [c.key for c in columns]
    for key, least in LEAST.items():
        over = total() - room
        if over <= 0:
            break
        if key in keys:
            n = keys.index(key)
            widths[n] = max(min(least, widths[n]), widths[n] - over)
    return ColumnLayout(tuple(columns), tuple(widths), narrow=True)


class TableExtras:
    """What the fleet table draws beyond `fleet_model.COLUMNS`: chosen columns, their layout,
    marked rows (issue 16) and who is connected (issues 15/17). One attribute on the table."""

    __slots__ = ("wanted", "layout", "marked", "who", "widths", "_fitted")

    def __init__(self) -> None:
        self.wanted: tuple[str, ...] = DEFAULT
        self.layout: ColumnLayout | None = None
        """None: the default columns fit; the table's own path draws them."""
        self.marked: set[str] = set()
        """Row keys marked with space: they survive refreshes and filter changes."""
        self.who: dict[str, str] = {}
        """Row key -> the Connected cell of a node someone is connected to."""
        self.widths: dict[str, int] = {}
        """Optional columns' widths over every row (measured when rows change)."""
        self._fitted: tuple[object, ...] = ()
        """What the last fit was made of: a keystroke's `show` (same rows) reuses it."""

    def columns(self) -> tuple[str, ...]:
        """The wanted columns, with Connected after Name while someone is connected."""
        wanted = self.wanted
        if self.who and WHO not in wanted:
            place = wanted.index("name") + 1 if "name" in wanted else len(wanted)
            wanted = (*wanted[:place], WHO, *wanted[place:])
        return wanted

    def fit(
        self, rows: Iterable[FleetRow], base_widths: Sequence[int], room: int, measure: bool
    ) -> ColumnLayout | None:
        """The layout for this width (`measure`: the rows changed, measure optional columns)."""
        wanted = self.columns()
        made_of = (wanted, base_widths, room)
        if not measure and made_of == self._fitted:
            return self.layout
        self._fitted = made_of
        optional = [KNOWN[k] for k in wanted if KNOWN[k].text is not None]
        if optional and (measure or any(c.key not in self.widths for c in optional)):
            rows = list(rows)
            for column in optional:
                assert column.text is not None
                texts = [column.text(row.instance) for row in rows]
                found = max((cell_len(t) for t in texts), default=1)
                self.widths[column.key] = min(max(found, 1), column.max_width)
        if WHO in wanted:
            found = max((cell_len(t) for t in self.who.values()), default=0)
            self.widths[WHO] = min(found, KNOWN[WHO].max_width)
        return fit(wanted, base_widths, self.widths, room)


# -- remembered between runs --------------------------------------------------------------------


def state_path() -> Path:
    import platformdirs

    return platformdirs.user_state_path("ssm-tui") / "fleet-columns.json"


def load_columns(setting: Sequence[str], remember: bool) -> tuple[tuple[str, ...], list[str]]:
    """(columns to show, names in the setting that are no column).

    The columns chosen in the app last time win, unless the `columns` setting changed since
    (the file is edited by hand: it is the newer wish). Read after the first frame, as the
    settings are (hence the imports here).
    """
    import json

    configured, unknown = resolve(setting)
    configured = with_essentials(configured) if configured else DEFAULT
    if not remember:
        return configured, unknown
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return configured, unknown
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", state_path(), exc)
        return configured, unknown
    if not isinstance(data, dict) or data.get("setting") != list(configured):
        return configured, unknown
    chosen = data.get("columns")
    if not isinstance(chosen, list):
        return configured, unknown
    keys, _ = resolve(str(c) for c in chosen)
    return with_essentials(keys), unknown


def save_columns(columns: Sequence[str], setting: Sequence[str]) -> None:
    """Remember the app's choice, with the setting it was made over (see `load_columns`)."""
    import contextlib
    import json
    import os

    configured, _ = resolve(setting)
    configured = with_essentials(configured) if configured else DEFAULT
    path = state_path()
    data = {"columns": list(columns), "setting": list(configured)}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, path)
