"""The fleet table's data: one precomputed row per instance, the filter language and the view order.

Kept free of Textual so the filter can be unit-tested and benchmarked on its own. Everything that
costs per keystroke is precomputed once per row when an instance arrives (display cells as
`rich.text.Text`, their widths, a lowercase search blob, sort keys), so that filtering 10,000 rows
is one pass of substring tests over prepared strings and never re-renders or re-sorts.

Filter language (whitespace separated terms, all must match; a leading `!` negates a term):
- `tag:Key=Value` (value is a substring, case-insensitive), `tag:Key` (has the tag),
  `status:online`, `account:prod`, `region:eu`, `profile:dev`, `platform:linux`, `id:i-0ab`;
- any other word: substring of the row's search blob (name, id, tags, IP, account, profile,
  region, platform, status), or a fuzzy (in-order letters) match of the name or id.

AWS text is wrapped in `Text(value)` and never parsed as markup: a tag value `[bold]x[/]` or an
escape sequence is displayed as the literal characters it holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.text import Text

from ssm_tui.aws.models import Instance, PingStatus, Scope

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
_STATUS_ORDER = {PingStatus.ONLINE: 0, PingStatus.CONNECTION_LOST: 1, PingStatus.INACTIVE: 2}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def literal(value: str) -> Text:
    """AWS text as a Text that shows every character as written, control characters visible.

    Rich would pass an ESC through to the real terminal, so C0/C1 controls are replaced by their
    caret or escaped form (`\\x1b` shows as `^[`), like `cat -v` does.
    """
    if _CONTROL.search(value):
        value = _CONTROL.sub(_caret, value)
    return Text(value, no_wrap=True, end="")


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 64)
    if code == 0x7F:
        return "^?"
    return f"\\x{code:02x}"


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


@dataclass(slots=True)
class FleetRow:
    """One instance ready to display and to filter: built once, read on every keystroke."""

    key: str
    instance: Instance
    cells: tuple[Text, ...]
    widths: tuple[int, ...]
    blob: str
    """Lowercase text every free filter word is searched in."""
    short: str
    """Lowercase `name id`: the target of fuzzy (in-order letters) matching."""
    online: bool
    sort_keys: dict[str, object] = field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        return Scope(self.instance.profile, self.instance.region)


def build_row(instance: Instance, now: datetime | None = None) -> FleetRow:
    """Prepare display cells, widths and search text of one instance."""
    account = instance.account_label or instance.profile
    platform = instance.platform_name or instance.platform_type
    last_ping = format_last_ping(instance.last_ping, now or utc_now())
    cells = (
        status_cell(instance.ping_status),
        literal(instance.name or "-"),
        literal(instance.instance_id),
        literal(account),
        literal(instance.region),
        literal(platform or "-"),
        literal(instance.ip_address or "-"),
        literal(instance.agent_version or "-"),
        Text(last_ping, end=""),
    )
    tags = " ".join(f"{k}={v}" for k, v in instance.tags.items())
    blob = " ".join(
        (
            instance.name,
            instance.instance_id,
            tags,
            instance.ip_address,
            account,
            instance.profile,
            instance.account_id,
            instance.region,
            platform,
            instance.platform_type,
            instance.ping_status,
            instance.computer_name,
        )
    ).lower()
    name = instance.name.lower()
    return FleetRow(
        key=instance.key,
        instance=instance,
        cells=cells,
        widths=tuple(cell.cell_len for cell in cells),
        blob=blob,
        short=f"{name} {instance.instance_id.lower()}",
        online=instance.ping_status == PingStatus.ONLINE,
        sort_keys={
            "status": (_STATUS_ORDER.get(instance.ping_status, 3), name),
            "name": (name, instance.instance_id),
            "id": instance.instance_id,
            "account": (account.lower(), name),
            "region": (instance.region, name),
            "platform": (platform.lower(), name),
            "ip": tuple(int(p) if p.isdigit() else 0 for p in instance.ip_address.split(".")),
            "agent": instance.agent_version,
            "ping": -(instance.last_ping.timestamp() if instance.last_ping else 0.0),
        },
    )


Predicate = Callable[[FleetRow], bool]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: every predicate must hold. `has_status` disables online-only."""

    text: str
    predicates: tuple[Predicate, ...]
    has_status: bool

    def matches(self, row: FleetRow) -> bool:
        return all(predicate(row) for predicate in self.predicates)


def _fuzzy(word: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(ch) for ch in word))


def _term(word: str) -> tuple[Predicate, bool]:
    """One filter word as a predicate; the flag says whether it names a status."""
    field_name, sep, value = word.partition(":")
    if sep and field_name in _FIELD_TERMS and value:
        return _FIELD_TERMS[field_name](value), field_name == "status"
    fuzzy = _fuzzy(word)
    return (lambda row: word in row.blob or fuzzy.search(row.short) is not None), False


def _tag_term(value: str) -> Predicate:
    key, sep, wanted = value.partition("=")

    def predicate(row: FleetRow) -> bool:
        for tag_key, tag_value in row.instance.tags.items():
            if tag_key.lower() == key and (not sep or wanted in tag_value.lower()):
                return True
        return False

    return predicate


def _attr_term(*getters: Callable[[Instance], str]) -> Callable[[str], Predicate]:
    def make(value: str) -> Predicate:
        return lambda row: any(value in get(row.instance).lower() for get in getters)

    return make


_FIELD_TERMS: dict[str, Callable[[str], Predicate]] = {
    "tag": _tag_term,
    "status": _attr_term(lambda i: i.ping_status),
    "account": _attr_term(lambda i: i.account_label, lambda i: i.profile, lambda i: i.account_id),
    "profile": _attr_term(lambda i: i.profile),
    "region": _attr_term(lambda i: i.region),
    "platform": _attr_term(lambda i: i.platform_name, lambda i: i.platform_type),
    "id": _attr_term(lambda i: i.instance_id),
    "name": _attr_term(lambda i: i.name),
}


def parse_query(text: str) -> Query:
    """Parse the filter box; unknown `field:` prefixes are plain words."""
    predicates: list[Predicate] = []
    has_status = False
    for raw in text.lower().split():
        negate = raw.startswith("!") and len(raw) > 1
        word = raw[1:] if negate else raw
        predicate, is_status = _term(word)
        has_status = has_status or is_status
        if negate:
            predicates.append(lambda row, p=predicate: not p(row))
        else:
            predicates.append(predicate)
    return Query(text=text, predicates=tuple(predicates), has_status=has_status)


class FleetModel:
    """Every known row, the scopes on show, and the filtered, sorted order the table draws.

    Rows are kept sorted once (when rows or the sort change); a filter change is then a single
    ordered pass that keeps matching keys, so the table never re-sorts per keystroke.
    """

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        """Source of "now" for last-ping ages (tests freeze it)."""
        self.rows: dict[str, FleetRow] = {}
        self.scopes: set[Scope] | None = None
        """Scopes on show; None shows every row."""
        self.query = parse_query("")
        self.online_only = True
        self.sort_column = "name"
        self.sort_reverse = False
        self._sorted: list[FleetRow] | None = None
        self.visible: list[str] = []
        self.widths: tuple[int, ...] = tuple(len(title) for _, title in COLUMNS)

    # -- data ------------------------------------------------------------------------------
    def replace_scope(self, scope: Scope, instances: Iterable[Instance]) -> set[str]:
        """Make the rows of `scope` exactly `instances`; returns the keys whose row changed."""
        fresh = {instance.key: instance for instance in instances}
        changed: set[str] = set()
        now = self.clock()
        for key in [k for k, r in self.rows.items() if r.scope == scope and k not in fresh]:
            del self.rows[key]
            changed.add(key)
        for key, instance in fresh.items():
            old = self.rows.get(key)
            if old is not None and _same(old.instance, instance):
                continue
            self.rows[key] = build_row(instance, now)
            changed.add(key)
        if changed:
            self._sorted = None
        return changed

    def clear(self) -> None:
        self.rows.clear()
        self._sorted = None

    # -- view ------------------------------------------------------------------------------
    def set_query(self, text: str) -> None:
        self.query = parse_query(text)

    def set_sort(self, column: str, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._sorted = None

    def in_view(self, row: FleetRow) -> bool:
        if self.scopes is not None and row.scope not in self.scopes:
            return False
        if self.online_only and not row.online and not self.query.has_status:
            return False
        return self.query.matches(row)

    def recompute(self) -> list[str]:
        """Refresh `visible` (ordered keys) and `widths`; cheap unless rows or sort changed."""
        if self._sorted is None:
            column = self.sort_column
            self._sorted = sorted(
                self.rows.values(),
                key=lambda row: row.sort_keys[column],  # type: ignore[arg-type,return-value]
                reverse=self.sort_reverse,
            )
            widths = [len(title) for _, title in COLUMNS]
            if self._sorted:
                columns = zip(*(row.widths for row in self._sorted), strict=True)
                widths = [max(w, max(col)) for w, col in zip(widths, columns, strict=True)]
            self.widths = tuple(
                min(width, MAX_WIDTH.get(key, width))
                for width, (key, _) in zip(widths, COLUMNS, strict=True)
            )
        in_view = self.in_view
        self.visible = [row.key for row in self._sorted if in_view(row)]
        return self.visible

    def counts(self) -> tuple[int, int, int]:
        """(rows in the selected scopes, online among them, visible)."""
        in_scope = [
            r for r in self.rows.values() if self.scopes is None or r.scope in self.scopes
        ]
        return len(in_scope), sum(r.online for r in in_scope), len(self.visible)


def _same(a: Instance, b: Instance) -> bool:
    return a == b and a.tags == b.tags
