"""The fleet table's data: one precomputed row per instance, the filter language and the view order.

Kept free of Textual so the filter can be unit-tested and benchmarked on its own. Everything that
costs per keystroke is precomputed once per row when an instance arrives (display cells as
`rich.text.Text`, their widths, a lowercase search blob, sort keys), so that filtering 10,000 rows
is one pass of substring tests over prepared strings and never re-renders or re-sorts.

Filter language (whitespace separated terms, all must match; a leading `!` negates a term):
- `tag:Key=Value` (value is a substring, case-insensitive), `tag:Key` (has the tag),
  `status:online`, `account:prod`, `region:eu`, `profile:dev`, `platform:linux`, `id:i-0ab`;
- any other word: substring of the row's search blob (name, id, tags, IP, account, profile,
  region, platform, status), or (3+ letters) a fuzzy, in-order-letters match of the name.

AWS text is wrapped in `Text(value)` and never parsed as markup: a tag value `[bold]x[/]` or an
escape sequence is displayed as the literal characters it holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from rich.text import Text

from ssm_tui.aws.models import Instance, PingStatus, Scope
from ssm_tui.text import printable

COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "Status"),
    ("name", "Name"),
    ("id", "Instance"),
    ("account", "Account"),
    ("region", "Region"),
    ("platform", "Platform"),
    ("ip", "IP"),
    ("agent", "Agent"),
    ("ping", "Last ping"),
)
"""(key, header) of every column, in display order."""

MAX_WIDTH: dict[str, int] = {"name": 36, "platform": 24, "account": 24}
"""Widest a column grows; longer cells are cropped with an ellipsis by the table."""

PING_STYLES: dict[str, tuple[str, str]] = {
    PingStatus.ONLINE: ("●", "bold green"),
    PingStatus.CONNECTION_LOST: ("●", "bold yellow"),
    PingStatus.INACTIVE: ("○", "red"),
}
_STATUS_ORDER: dict[str, int] = {
    PingStatus.ONLINE: 0,
    PingStatus.CONNECTION_LOST: 1,
    PingStatus.INACTIVE: 2,
}


def literal(value: str) -> Text:
    """AWS text as a Text that shows every character as written, control characters visible.

    Rich would pass an ESC through to the real terminal, so C0/C1 controls are replaced by their
    caret or escaped form (`\\x1b` shows as `^[`), like `cat -v` does, and bidi/format characters
    (U+202E would reverse the text after it) by their escape: `ssm_tui.text.printable`.
    """
    if not value.isprintable():  # controls as `^[`, bidi/format characters as `\\u202e`
        value = printable(value, caret=True)
    return Text(value, no_wrap=True, end="")


def format_last_ping(value: datetime | None, now: datetime) -> str:
    """Age of the last ping, coarse on purpose.

    Agents ping about every 5 minutes, so anything under 10 minutes is "<10m"; then minutes,
    hours (under two days) and days, each floored. Coarse buckets keep the column (and snapshots)
    from changing on every repaint.
    """
    if value is None:
        return "-"
    seconds = (now - value).total_seconds()
    if seconds < 600:
        return "<10m"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def utc_now() -> datetime:
    return datetime.now(UTC)


def status_cell(status: str) -> Text:
    dot, style = PING_STYLES.get(status, ("○", "dim"))
    return Text.assemble((dot, style), " ", (status or "Unknown", style), end="")


FIELDS = (
    "blob",
    "short",
    "status",
    "account",
    "profile",
    "region",
    "platform",
    "id",
    "name",
    "tags",
)
"""Lowercase one-line texts kept per row; filter terms are regular expressions over them."""

_FIELD_OF_PREFIX = {
    "status": "status",
    "account": "account",
    "profile": "profile",
    "region": "region",
    "platform": "platform",
    "id": "id",
    "name": "name",
    "tag": "tags",
}


_ONE_LINE = str.maketrans("\n\t", "  ")


def _width(value: str) -> int:
    """Cells `literal(value)` will take (fast path for plain ASCII)."""
    if value.isascii() and value.isprintable():
        return len(value)
    return literal(value).cell_len


class FleetRow:
    """One instance ready to filter and to display.

    Built for every instance when it arrives, so it holds only the instance and its identity:
    texts, display `Text` cells and search fields are made on first use (the table draws the
    few rows on screen; column widths come from `column_widths`), which keeps the first frame
    of a 2,000-instance cache fast.
    """

    __slots__ = (
        "key", "instance", "scope", "online", "_now", "_texts", "_cells", "_fields", "_plain"
    )  # fmt: skip

    def __init__(self, instance: Instance, now: datetime, scope: Scope | None = None) -> None:
        self.key = instance.key
        self.instance = instance
        if scope is None or (scope.profile, scope.region) != (instance.profile, instance.region):
            scope = Scope(instance.profile, instance.region)
        self.scope = scope
        self.online = instance.ping_status == PingStatus.ONLINE
        self._now = now
        self._texts: tuple[str, ...] | None = None
        self._cells: tuple[Text, ...] | None = None
        self._fields: dict[str, str] | None = None
        self._plain: bool | None = None

    @property
    def plain(self) -> bool:
        """Every text is printable ASCII: one cell per character, nothing to escape."""
        if self._plain is None:
            joined = "".join(self.texts)
            self._plain = joined.isascii() and joined.isprintable()
        return self._plain

    @property
    def texts(self) -> tuple[str, ...]:
        """Each column's text (made on first draw or filter; the table draws the rows on screen)."""
        if self._texts is None:
            self._texts = column_texts(self.instance, self._now)
        return self._texts

    @property
    def fields(self) -> dict[str, str]:
        """Lowercase one-line search texts (made on the first filter, not at start-up)."""
        if self._fields is None:
            self._fields = _search_fields(self.instance, self.texts[3])
        return self._fields

    def sort_key(self, column: str) -> object:
        i = self.instance
        name = i.name.lower()
        if column == "name":
            return (name, i.instance_id)
        if column == "status":
            return (_STATUS_ORDER.get(i.ping_status, 3), name)
        if column == "id":
            return i.instance_id
        if column == "account":
            return (self.texts[3].lower(), name)
        if column == "region":
            return (i.region, name)
        if column == "platform":
            return (self.texts[5].lower(), name)
        if column == "ip":
            return tuple(int(p) if p.isdigit() else 0 for p in i.ip_address.split("."))
        if column == "agent":
            return tuple(int(p) if p.isdigit() else 0 for p in i.agent_version.split("."))
        return -(i.last_ping.timestamp() if i.last_ping else 0.0)

    @property
    def cells(self) -> tuple[Text, ...]:
        """Display cells, AWS text literal (made on first use)."""
        if self._cells is None:
            self._cells = (
                status_cell(self.instance.ping_status),
                *(literal(text) for text in self.texts[1:-1]),
                Text(self.texts[-1], end=""),
            )
        return self._cells


_FIELD_TEXTS: tuple[Callable[[Instance], str], ...] = (
    lambda i: i.ping_status or "Unknown",
    lambda i: i.name or "-",
    lambda i: i.instance_id,
    lambda i: i.account_label or i.profile,
    lambda i: i.region,
    lambda i: i.platform_name or i.platform_type or "-",
    lambda i: i.ip_address or "-",
    lambda i: i.agent_version or "-",
)
"""The text of every column but the last ping, in `COLUMNS` order (`-` for what AWS did not
say); one definition for `column_texts` (a row) and `column_widths` (all rows)."""


def column_texts(instance: Instance, now: datetime) -> tuple[str, ...]:
    """The texts a row shows, in `COLUMNS` order."""
    return (*(text(instance) for text in _FIELD_TEXTS), format_last_ping(instance.last_ping, now))


def column_widths(instances: list[Instance]) -> list[int]:
    """The widest cell of each column over `instances`, one pass per column.

    Counted from the instances' fields, so a first frame of 2,000 cached rows never builds the
    texts of rows it does not draw. The last-ping column is at most 4 cells ("<10m", "59m",
    "47h", "123d"), narrower than its header.
    """
    widths = []
    for text in _FIELD_TEXTS:
        texts = list(map(text, instances))
        joined = "".join(texts)
        if joined.isascii() and joined.isprintable():  # the usual case: length is width
            widths.append(max(map(len, texts), default=0))
        else:
            widths.append(max(map(_width, texts), default=0))
    widths[0] += 2  # the status dot and its space
    widths.append(4)
    return widths


def cache_widths(instances: Iterable[Instance]) -> list[int]:
    """`column_widths` of a listed scope as the cache keeps it (one instance per key, the last),
    saved beside it so a first frame has the whole fleet's columns (`FleetModel.preview`)."""
    return column_widths(list({i.key: i for i in instances}.values()))


_TAB_KEEP = {ord("\n"): " "}


def _search_fields(instance: Instance, account: str) -> dict[str, str]:
    tags = (
        "".join(
            "\t" + k.replace("=", " ").replace("\t", " ") + "=" + v.replace("\t", " ")
            for k, v in instance.tags.items()
        )
        .lower()
        .translate(_TAB_KEEP)
    )
    name = instance.name.lower().translate(_ONE_LINE)
    iid = instance.instance_id.lower()
    account_line = f"{account} {instance.profile} {instance.account_id}".lower()
    platform_line = f"{instance.platform_name} {instance.platform_type}".lower()
    status = instance.ping_status.lower()
    blob = " ".join(
        (name, iid, tags.replace("\t", " "), instance.ip_address, account_line, instance.region,
         platform_line, status, instance.computer_name.lower())
    )  # fmt: skip
    return {
        "blob": blob.translate(_ONE_LINE),
        "short": name,
        "status": status,
        "account": account_line.translate(_ONE_LINE),
        "profile": instance.profile.lower(),
        "region": instance.region,
        "platform": platform_line.translate(_ONE_LINE),
        "id": iid,
        "name": name,
        "tags": tags or "\t",
    }


"""Tags keep their tab separators (a `tag:` term anchors on them); newlines become spaces."""


def build_row(
    instance: Instance, now: datetime | None = None, scope: Scope | None = None
) -> FleetRow:
    """Prepare display texts, widths and search fields of one instance."""
    return FleetRow(instance, now or utc_now(), scope)


class Term(NamedTuple):
    """One filter word: a substring of one field, or a tag test; free words also match fuzzily."""

    field: str
    value: str
    negate: bool = False
    tag: re.Pattern[str] | None = None
    """For `tag:` terms: searched in the row's tab-separated `key=value` line."""
    fuzzy: re.Pattern[str] | None = None
    """Free words of 3+ letters also match the name with their letters in order."""

    def hit(self, fields: dict[str, str]) -> bool:
        if self.tag is not None:
            return self.tag.search(fields["tags"]) is not None
        if self.value in fields[self.field]:
            return True
        return self.fuzzy is not None and self.fuzzy.match(fields["short"]) is not None


def _in_order(value: str) -> re.Pattern[str]:
    """Letters in order, without backtracking blow-up (negated classes, greedy)."""
    return re.compile("".join(f"[^{re.escape(ch)}]*{re.escape(ch)}" for ch in value))


def _tag(value: str) -> re.Pattern[str]:
    key, sep, wanted = value.partition("=")
    body = re.escape(key) + "=" + (r"[^\t]*?" + re.escape(wanted) if sep else "")
    return re.compile("\t" + body)


def make_term(raw: str) -> Term:
    negate = raw.startswith("!") and len(raw) > 1
    word = raw[1:] if negate else raw
    prefix, sep, value = word.partition(":")
    if sep and value and prefix in _FIELD_OF_PREFIX:
        if prefix == "tag":
            return Term("tags", value, negate, tag=_tag(value))
        return Term(_FIELD_OF_PREFIX[prefix], value, negate)
    return Term("blob", word, negate, fuzzy=_in_order(word) if len(word) >= 3 else None)


class Query(NamedTuple):
    """A parsed filter: every term must hold. `has_status` turns online-only off."""

    text: str
    terms: tuple[Term, ...]
    has_status: bool

    def matches(self, row: FleetRow) -> bool:
        """Whether one row passes (the model evaluates whole columns at once instead)."""
        return all(term.hit(row.fields) != term.negate for term in self.terms)


def parse_query(text: str) -> Query:
    """Parse the filter box; unknown `field:` prefixes are plain words."""
    terms = tuple(make_term(raw) for raw in text.lower().split())
    has_status = any(term.field == "status" and not term.negate for term in terms)
    return Query(text=text, terms=terms, has_status=has_status)


class FleetModel:
    """Every known row, the scopes on show, and the filtered, sorted order the table draws.

    Rows are sorted once when rows or the sort change, and each field is joined into one text;
    a filter keystroke is then one regex scan per term over those texts (C speed), an
    intersection of row indices, and a list of keys. Term results are cached until the rows
    change, so backspace is free.
    """

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        """Source of "now" for last-ping ages (tests freeze it)."""
        self.rows: dict[str, FleetRow] = {}
        self._by_scope: dict[Scope, set[str]] = {}
        self.scopes: set[Scope] | None = None
        """Scopes on show; None shows every row."""
        self.query = parse_query("")
        self.online_only = True
        self.sort_column = "name"
        self.sort_reverse = False
        self._sorted: list[FleetRow] | None = None
        self._columns: dict[str, list[str]] | None = None
        self._term_cache: dict[tuple[str, str], set[int]] = {}
        self._scope_idx: set[int] | None = None
        self._scope_key: frozenset[Scope] | None = None
        self._online_idx: set[int] = set()
        self.visible: list[str] = []
        self.in_scope = 0
        self.online_in_scope = 0
        self._view_rows = 0
        self.widths: tuple[int, ...] = tuple(len(title) for _, title in COLUMNS)
        self.stale: dict[Scope, datetime | None] = {}
        """Scopes whose last refresh failed: their rows are older data (when it was listed, if
        known), drawn dimmed (issue 13)."""

    # -- data ------------------------------------------------------------------------------
    def replace_scope(self, scope: Scope, instances: Iterable[Instance]) -> set[str]:
        """Make the rows of `scope` exactly `instances`; returns the keys whose row changed."""
        fresh = {instance.key: instance for instance in instances}
        changed: set[str] = set()
        now = self.clock()
        keys = self._by_scope.setdefault(scope, set())
        for key in [k for k in keys if k not in fresh]:
            del self.rows[key]
            keys.discard(key)
            changed.add(key)
        for key, instance in fresh.items():
            old = self.rows.get(key)
            if old is not None and _same(old.instance, instance):
                continue
            self.rows[key] = FleetRow(instance, now, scope)
            keys.add(key)
            changed.add(key)
        if changed:
            self._invalidate()
        return changed

    def clear(self) -> None:
        self.rows.clear()
        self._by_scope.clear()
        self._invalidate()

    def _invalidate(self) -> None:
        self._sorted = None
        self._columns = None
        self._term_cache.clear()
        self._scope_idx = None

    # -- view ------------------------------------------------------------------------------
    def set_query(self, text: str) -> None:
        self.query = parse_query(text)

    def set_sort(self, column: str, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._invalidate()

    def in_view(self, row: FleetRow) -> bool:
        if self.scopes is not None and row.scope not in self.scopes:
            return False
        if self.online_only and not row.online and not self.query.has_status:
            return False
        return self.query.matches(row)

    def _ensure_sorted(self) -> list[FleetRow]:
        if self._sorted is None:
            column = self.sort_column
            # the row key breaks ties (one instance seen through two profiles), so the order
            # never depends on which profile answered first
            self._sorted = sorted(
                self.rows.values(),
                key=lambda row: (row.sort_key(column), row.key),
                reverse=self.sort_reverse,
            )
            self._columns = None  # built on the first filter term
            self._online_idx = {i for i, row in enumerate(self._sorted) if row.online}
            found = column_widths([row.instance for row in self._sorted]) if self._sorted else None
            self.widths = _table_widths(found)
        return self._sorted

    def _term_rows(self, term: Term) -> set[int]:
        """Rows (sorted indices) a term holds for, ignoring negation; cached per rows version.

        While typing, "web" only needs to look at the rows "we" matched (a substring or
        in-order match of "web" implies one of "we"), so each keystroke scans fewer rows.
        """
        if self._columns is None:
            rows = self._ensure_sorted()
            self._columns = {name: [row.fields[name] for row in rows] for name in FIELDS}
        columns = self._columns
        cache_key = (term.field if term.tag is None else "tag", term.value)
        hit = self._term_cache.get(cache_key)
        if hit is not None:
            return hit
        candidates: Iterable[int] = range(len(columns["blob"]))
        if term.tag is None and len(term.value) > 1:
            narrower = self._term_cache.get((cache_key[0], term.value[:-1]))
            if narrower is not None and (term.fuzzy is None) == (len(term.value) - 1 < 3):
                candidates = narrower
        if term.tag is not None:
            tags, search = columns["tags"], term.tag.search
            hit = {i for i in candidates if search(tags[i])}
        else:
            lines, value = columns[term.field], term.value
            hit = {i for i in candidates if value in lines[i]}
            if term.fuzzy is not None:
                shorts, search = columns["short"], term.fuzzy.match
                hit |= {i for i in candidates if i not in hit and search(shorts[i])}
        self._term_cache[cache_key] = hit
        return hit

    def recompute(self) -> list[str]:
        """Refresh `visible` (ordered keys) and `widths`; cheap unless rows or sort changed."""
        rows = self._ensure_sorted()
        scope_key = None if self.scopes is None else frozenset(self.scopes)
        if self._scope_idx is None or scope_key != self._scope_key:
            self._scope_key = scope_key
            self._scope_idx = (
                set(range(len(rows)))
                if scope_key is None
                else {i for i, row in enumerate(rows) if row.scope in scope_key}
            )
        selected = self._scope_idx
        self.in_scope = len(selected)
        self.online_in_scope = len(selected & self._online_idx)
        if self.online_only and not self.query.has_status:
            selected = selected & self._online_idx
        for term in self.query.terms:
            hits = self._term_rows(term)
            selected = selected - hits if term.negate else selected & hits
        self.visible = [rows[i].key for i in sorted(selected)]
        self._view_rows = len(self.visible)
        return self.visible

    @property
    def default_view(self) -> bool:
        """Every scope, Online rows, by name, no filter: the view a start shows first."""
        return (
            self.scopes is None
            and self.online_only
            and not self.query.terms
            and (self.sort_column, self.sort_reverse) == ("name", False)
        )

    def preview(
        self, instances: Iterable[Instance], *, total: int, online: int, widths: Sequence[int]
    ) -> list[str]:
        """Show the first rows of a fleet whose other rows are not loaded yet; their keys.

        For a first frame in `default_view`: `instances` are the first Online rows in its
        order, while `total`, `online` and `widths` (as `column_widths` counts them) describe
        the whole fleet, so the frame looks as it will once `replace_scope` has given every
        row (which ends the preview: counts and widths are then computed from the rows).
        """
        now = self.clock()
        for instance in instances:
            row = FleetRow(instance, now)
            self.rows[row.key] = row
            self._by_scope.setdefault(row.scope, set()).add(row.key)
        self._invalidate()
        visible = self.recompute()
        self.widths = _table_widths(widths)
        self.in_scope, self.online_in_scope = total, online
        self._view_rows = online  # the default view shows every Online row
        return visible

    def warm(self) -> None:
        """Build every row's search fields now (a thread may call this after the first frame)."""
        for row in list(self.rows.values()):
            row.fields  # noqa: B018 - computes and keeps them

    def stale_in_scope(self) -> tuple[int, datetime | None]:
        """(rows of the selected scopes that are stale, when the oldest of them was listed)."""
        rows, oldest = 0, None
        for scope, when in self.stale.items():
            if self.scopes is None or scope in self.scopes:
                rows += len(self._by_scope.get(scope, ()))
                if when is not None and (oldest is None or when < oldest):
                    oldest = when
        return rows, oldest

    def counts(self) -> tuple[int, int, int]:
        """(rows in the selected scopes, online among them, rows in the view) as last computed.

        After `preview`, the view has more rows than its `visible` first ones."""
        return self.in_scope, self.online_in_scope, self._view_rows


def _table_widths(found: Sequence[int] | None) -> tuple[int, ...]:
    """Column widths: the widest cell (`column_widths`) or title, at most `MAX_WIDTH`."""
    widths = [len(title) for _, title in COLUMNS]
    if found is not None:
        widths = [max(w, f) for w, f in zip(widths, found, strict=True)]
    return tuple(
        min(width, MAX_WIDTH.get(key, width))
        for width, (key, _) in zip(widths, COLUMNS, strict=True)
    )


def _same(a: Instance, b: Instance) -> bool:
    return a == b and a.tags == b.tags
