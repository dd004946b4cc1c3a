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

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from rich.text import Text

from ssm_tui.aws.models import Instance, PingStatus, Scope
from ssm_tui.filtering import Index, Query, parse_query, search_fields
from ssm_tui.nodes import NO_REACH, Reach, choose, is_denied, merge
from ssm_tui.text import printable

__all__ = ["Query", "parse_query"]  # the filter language, re-exported for the fleet's callers

COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "Status"),
    ("name", "Name"),
    ("id", "Instance"),
    ("account", "Account"),
    ("profile", "Profile"),
    ("region", "Region"),
    ("platform", "Platform"),
    ("ip", "IP"),
    ("agent", "Agent"),
    ("ping", "Last ping"),
)
"""(key, header) of every column, in display order."""

MAX_WIDTH: dict[str, int] = {"name": 36, "platform": 24, "account": 24, "profile": 28}
"""Widest a column grows; longer cells are cropped with an ellipsis by the table."""

PROFILE_ROOM = " ✗ +9"
"""Width kept in the Profile column for a denial mark and the count of other profiles."""

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


_ONE_LINE = str.maketrans("\n\t", "  ")


def _width(value: str) -> int:
    """Cells `literal(value)` will take (fast path for plain ASCII)."""
    if value.isascii() and value.isprintable():
        return len(value)
    return literal(value).cell_len


def profile_text(chosen: Instance, views: int, denied: bool) -> str:
    """The Profile cell: the profile Enter uses, ✗ when AWS denied it StartSession there (every
    profile reaching the node was, then), `+N` when others reach the node too."""
    denial = " ✗" if denied else ""  # AWS denied StartSession to it here
    return chosen.profile + denial + (f" +{views - 1}" if views > 1 else "")


class FleetRow:
    """One node (account, region, instance) ready to filter and to display.

    It knows every profile that reaches the node (`views`, one `Instance` each) and the one a
    session uses (`instance`, chosen by `ssm_tui.nodes.choose`). Built for every node when it
    arrives, so it holds only that: texts, display `Text` cells and search fields are made on
    first use (the table draws the few rows on screen; column widths come from
    `column_widths`), which keeps the first frame of a 2,000-instance cache fast.
    """

    __slots__ = (
        "key", "instance", "views", "scopes", "online", "denied", "_now", "_texts", "_cells",
        "_fields", "_plain"
    )  # fmt: skip

    def __init__(
        self,
        instance: Instance,
        now: datetime,
        views: Sequence[Instance] = (),
        denied: bool = False,
        scopes: frozenset[Scope] | None = None,
    ) -> None:
        self.key = instance.node
        self.instance = instance
        self.views: tuple[Instance, ...] = tuple(views) or (instance,)
        self.scopes = (
            scopes
            if scopes is not None
            else frozenset(Scope(v.profile, v.region) for v in self.views)
        )
        """The views' scopes (`FleetModel` hands rows shared sets: see `_scope_sets`)."""
        self.online = instance.ping_status == PingStatus.ONLINE
        """The chosen view is Online exactly when any view is (`nodes.ranked` prefers them)."""
        self.denied = denied
        """AWS denied StartSession to the chosen profile (every profile reaching it, then)."""
        self._now = now
        self._texts: tuple[str, ...] | None = None
        self._cells: tuple[Text, ...] | None = None
        self._fields: dict[str, str] | None = None
        self._plain: bool | None = None

    @property
    def scope(self) -> Scope:
        """The chosen profile's scope (where a session starts)."""
        return Scope(self.instance.profile, self.instance.region)

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(v.profile for v in self.views)

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
            profile = profile_text(self.instance, len(self.views), self.denied)
            self._texts = column_texts(self.instance, self._now, profile)
        return self._texts

    @property
    def fields(self) -> dict[str, str]:
        """Lowercase one-line search texts (made on the first filter, not at start-up)."""
        if self._fields is None:
            fields = search_fields(self.instance, self.texts[3], self.profiles)
            if self.denied:  # the word the detail view and the dialog use
                fields["blob"] += " denied"
            self._fields = fields
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
        if column == "profile":
            return (self.texts[4].lower(), name)
        if column == "region":
            return (i.region, name)
        if column == "platform":
            return (self.texts[6].lower(), name)
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
    lambda i: i.profile + PROFILE_ROOM,
    lambda i: i.region,
    lambda i: i.platform_name or i.platform_type or "-",
    lambda i: i.ip_address or "-",
    lambda i: i.agent_version or "-",
)
"""The text of every column but the last ping, in `COLUMNS` order (`-` for what AWS did not
say); one definition for `column_texts` (a row) and `column_widths` (all rows). The profile
column's width leaves room for the `+N` of a node that other profiles reach too."""


def column_texts(instance: Instance, now: datetime, profile: str) -> tuple[str, ...]:
    """The texts a row shows, in `COLUMNS` order."""
    texts = [text(instance) for text in _FIELD_TEXTS]
    texts[4] = profile
    return (*texts, format_last_ping(instance.last_ping, now))


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


def build_row(
    instance: Instance, now: datetime | None = None, views: Sequence[Instance] = ()
) -> FleetRow:
    """Prepare display texts, widths and search fields of one node."""
    return FleetRow(instance, now or utc_now(), views)


class FleetModel:
    """Every known node, the scopes on show, and the filtered, sorted order the table draws.

    Each scope's listing is kept as it came (`replace_scope`); a node seen through several
    profiles is one row that knows all of them and picks one (`reach` says which: denials,
    preferred and last-working profiles). Rows are sorted once when rows or the sort change and
    indexed for the filter (`ssm_tui.filtering.Index`); a keystroke is then one scan per term,
    an intersection of row indices, and a list of keys.
    """

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        """Source of "now" for last-ping ages (tests freeze it)."""
        self.rows: dict[str, FleetRow] = {}
        self._by_scope: dict[Scope, dict[str, Instance]] = {}
        """Each scope's instances by node, as listed."""
        self._nodes: dict[str, dict[Scope, Instance]] = {}
        """Each node's views by scope (the profiles reaching it)."""
        self._scopes: set[Scope] | None = None
        self.reach: Reach = NO_REACH
        self._profile_order: dict[str, int] = {}
        """Profile -> its place in the config: the last tie-break between profiles."""
        self.query = parse_query("")
        self.online_only = True
        self.sort_column = "name"
        self.sort_reverse = False
        self._sorted: list[FleetRow] | None = None
        self._index: Index | None = None
        self._scope_idx: set[int] | None = None
        self._scope_key: frozenset[Scope] | None = None
        self._online_idx: set[int] = set()
        self.visible: list[str] = []
        self.in_scope = 0
        self.online_in_scope = 0
        self._view_rows = 0
        self.widths: tuple[int, ...] = tuple(len(title) for _, title in COLUMNS)
        self._scope_sets: dict[frozenset[Scope], frozenset[Scope]] = {}
        """One shared set per combination of scopes, for every row with that combination: at
        10,000 rows a set and 3 `Scope`s per row were 40,000 of the ~190,000 objects each
        full garbage collection walks (0.3-0.9 s here, in the middle of a keystroke)."""
        self.stale: dict[Scope, datetime | None] = {}
        """Scopes whose last refresh failed: their rows are older data (when it was listed, if
        known), drawn dimmed (issue 13)."""

    @property
    def scopes(self) -> set[Scope] | None:
        """Scopes on show; None shows every row. A node's profile is chosen among these."""
        return self._scopes

    @scopes.setter
    def scopes(self, value: set[Scope] | None) -> None:
        if value == self._scopes:
            return
        self._scopes = None if value is None else set(value)
        self._rechoose({key for key, views in self._nodes.items() if len(views) > 1})

    def set_profile_order(self, profiles: Sequence[str]) -> set[str]:
        """The config's order of profiles (ties between profiles go to the first)."""
        order = {name: n for n, name in enumerate(dict.fromkeys(profiles))}
        if order == self._profile_order:
            return set()
        self._profile_order = order
        return self._rechoose({key for key, views in self._nodes.items() if len(views) > 1})

    def set_reach(self, reach: Reach) -> set[str]:
        """New denials/preferences: rows whose choice may change are rebuilt; their keys."""
        self.reach = reach
        return self._rechoose(set(self._nodes))

    def _rechoose(self, keys: set[str]) -> set[str]:
        changed = {key for key in keys if self._build(key)}
        if changed:
            self._invalidate()
        return changed

    def _build(self, key: str) -> bool:
        """(Re)build one node's row from its views; whether the row changed."""
        views = self._nodes.get(key)
        old = self.rows.get(key)
        if not views:
            if old is None:
                return False
            del self.rows[key]
            return True
        last = len(self._profile_order)
        ordered = sorted(
            views.values(), key=lambda v: (self._profile_order.get(v.profile, last), v.profile)
        )
        allowed = None if self._scopes is None else {s.profile for s in views if s in self._scopes}
        chosen = choose(ordered, self.reach, allowed)
        denied = is_denied(self.reach, chosen)
        if (
            old is not None
            and old.instance is chosen
            and old.denied == denied
            and len(old.views) == len(ordered)
            and all(a is b for a, b in zip(old.views, ordered, strict=True))
        ):
            return False
        scopes = frozenset(views)  # the model's own Scope keys, not new ones
        scopes = self._scope_sets.setdefault(scopes, scopes)
        self.rows[key] = FleetRow(chosen, self.clock(), ordered, denied, scopes)
        return True

    # -- data ------------------------------------------------------------------------------
    def replace_scope(self, scope: Scope, instances: Iterable[Instance]) -> set[str]:
        """Make the rows of `scope` exactly `instances`; returns the keys whose row changed."""
        fresh: dict[str, Instance] = {}
        for instance in instances:
            fresh[instance.node] = instance
        old = self._by_scope.get(scope, {})
        touched: set[str] = set()
        for node in old:
            if node not in fresh:
                views = self._nodes.get(node, {})
                views.pop(scope, None)
                if not views:
                    self._nodes.pop(node, None)
                touched.add(node)
        for node, instance in fresh.items():
            before = old.get(node)
            if before is not None and _same(before, instance):
                fresh[node] = before  # keep the object: rows compare views by identity
                continue
            self._nodes.setdefault(node, {})[scope] = instance
            touched.add(node)
        self._by_scope[scope] = fresh
        changed = {key for key in touched if self._build(key)}
        if changed:
            self._invalidate()
        return changed

    def clear(self) -> None:
        self.rows.clear()
        self._by_scope.clear()
        self._nodes.clear()
        self._scope_sets.clear()
        self._invalidate()

    def _invalidate(self) -> None:
        self._sorted = None
        self._index = None
        self._scope_idx = None

    # -- view ------------------------------------------------------------------------------
    def set_query(self, text: str) -> None:
        self.query = parse_query(text)

    def set_sort(self, column: str, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._invalidate()

    def in_view(self, row: FleetRow) -> bool:
        if self._scopes is not None and not (row.scopes & self._scopes):
            return False
        if self.online_only and not row.online and not self.query.has_status:
            return False
        return self.query.matches(row.fields)

    def _ensure_sorted(self) -> list[FleetRow]:
        if self._sorted is None:
            column = self.sort_column
            # the node key breaks ties, so the order never depends on which profile answered
            self._sorted = sorted(
                self.rows.values(),
                key=lambda row: (row.sort_key(column), row.key),
                reverse=self.sort_reverse,
            )
            self._index = None  # built on the first filter term
            self._online_idx = {i for i, row in enumerate(self._sorted) if row.online}
            # over every profile's view, as the cache counts them (`cache_widths`), so a first
            # frame drawn from the cache has the widths the whole fleet then has
            views = [view for row in self._sorted for view in row.views]
            found = column_widths(views) if views else None
            self.widths = _table_widths(found)
        return self._sorted

    @property
    def index(self) -> Index:
        """The search index over the sorted rows (built on the first filter term)."""
        rows = self._ensure_sorted()
        if self._index is None:
            self._index = Index(row.fields for row in rows)
        return self._index

    def recompute(self) -> list[str]:
        """Refresh `visible` (ordered keys) and `widths`; cheap unless rows or sort changed."""
        rows = self._ensure_sorted()
        scope_key = None if self._scopes is None else frozenset(self._scopes)
        if self._scope_idx is None or scope_key != self._scope_key:
            self._scope_key = scope_key
            self._scope_idx = (
                set(range(len(rows)))
                if scope_key is None
                else {i for i, row in enumerate(rows) if not row.scopes.isdisjoint(scope_key)}
            )
        selected = self._scope_idx
        self.in_scope = len(selected)
        self.online_in_scope = len(selected & self._online_idx)
        if self.online_only and not self.query.has_status:
            selected = selected & self._online_idx
        if self.query.terms:
            order = self.index.select(self.query, selected)
        else:
            order = sorted(selected)
        self.visible = [rows[i].key for i in order]
        self._view_rows = len(self.visible)
        return self.visible

    @property
    def default_view(self) -> bool:
        """Every scope, Online rows, by name, no filter: the view a start shows first."""
        return (
            self._scopes is None
            and self.online_only
            and not self.query.terms
            and (self.sort_column, self.sort_reverse) == ("name", False)
        )

    def preview(
        self, instances: Iterable[Instance], *, total: int, online: int, widths: Sequence[int]
    ) -> list[str]:
        """Show the first rows of a fleet whose other rows are not loaded yet; their keys.

        For a first frame in `default_view`: `instances` are the first Online nodes in its
        order (every profile's view of each), while `total`, `online` and `widths` (as
        `column_widths` counts them) describe the whole fleet, so the frame looks as it will
        once `replace_scope` has given every row (which ends the preview: counts and widths are
        then computed from the rows).
        """
        for node, views in merge(instances).items():
            for view in views:
                scope = Scope(view.profile, view.region)
                self._nodes.setdefault(node, {})[scope] = view
                self._by_scope.setdefault(scope, {})[node] = view
            self._build(node)
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

    def row_for(self, instance: Instance) -> FleetRow | None:
        """The row of the node `instance` is a view of."""
        return self.rows.get(instance.node)


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
