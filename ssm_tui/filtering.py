"""The filter language of the fleet: one definition for the TUI's `/` box and every CLI `--filter`.

Whitespace-separated terms, all must hold; a leading `!` negates a term. A value in double quotes
may hold spaces.

- Free words match the row's search text (name, id, tags, IP, account, profile, region, platform,
  status) as a substring, or (3+ letters) the name with their letters in order (fuzzy). Rows are
  ranked: an exact name/id/IP first, then names starting with the word, then substrings, then
  fuzzy matches, so `/web-1` then Enter opens `web-1`, not `web-euw1-00031`.
- `"web-1"` or `=web-1`: exactly that name, id, IP or computer name (whatever its status).
- `field:value` for every column the UI shows. Key-like fields match a whole value:
  `profile:prod` is `prod`, never `prod-readonly` (`profile:prod*` is every profile starting with
  prod); so do `id:`/`instance:`, `ip:`, `state:`, `type:`, `ami:`, `vpc:`, `subnet:`, `iam:`.
  Descriptive fields match a substring: `name:`, `account:`, `region:`, `platform:`, `agent:`,
  `computer:`; `resource:` (EC2Instance, ManagedInstance) is a whole value.
  A `*` in any value is a wildcard.
- `status:` matches the start of a status word: `online`, `connectionlost` (`lost`), `inactive`,
  and `offline` (ConnectionLost + Inactive). A status term shows offline rows although the view
  is "online only".
- `tag:Key=Value` (the value a substring, case-insensitive), `tag:Key` (has the tag).

Kept free of Textual and of botocore: the fleet model evaluates it over 10,000 rows per keystroke
(one substring scan per term over prepared column texts, cached and narrowed while typing) and the
CLIs over a listing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from ssm_tui.aws.models import Instance

WORD_FIELDS = frozenset(
    {"profile", "id", "ip", "state", "type", "ami", "vpc", "subnet", "iam", "status", "resource"}
)
"""Fields holding tab-separated whole values (`\\tprod\\tprod-readonly\\t`): a term is one value."""

PREFIXES: dict[str, str] = {
    "status": "status",
    "ping": "status",
    "name": "name",
    "id": "id",
    "instance": "id",
    "account": "account",
    "profile": "profile",
    "region": "region",
    "platform": "platform",
    "os": "platform",
    "ip": "ip",
    "agent": "agent",
    "state": "state",
    "type": "type",
    "ami": "ami",
    "vpc": "vpc",
    "subnet": "subnet",
    "iam": "iam",
    "tag": "tags",
    # the fleet's optional columns (issue 15, `ui.fleet_columns`): their titles too
    "computer": "computer",
    "resource": "resource",
}
"""`prefix:` of a field term -> the field it searches (column titles and their short forms)."""

FIELDS = (
    "blob", "short", "exact", "status", "account", "profile", "region", "platform", "id",
    "name", "tags", "ip", "agent", "state", "type", "ami", "vpc", "subnet", "iam",
    "computer", "resource",
)  # fmt: skip
"""Lowercase one-line texts kept per row (`search_fields`)."""

STATUS_WORDS: dict[str, str] = {
    "online": "\tonline\t",
    "connectionlost": "\tconnectionlost\tlost\toffline\t",
    "inactive": "\tinactive\toffline\t",
}
"""The status field of each ping status: its own word and the words that include it."""

_ONE_LINE = str.maketrans("\n\t", "  ")
_TAB_KEEP = {ord("\n"): " "}


def _words(*values: str) -> str:
    """Whole values as `\\ta\\tb\\t` (a term `\\tvalue\\t` is then one substring test)."""
    kept = [v.lower().translate(_ONE_LINE) for v in values if v]
    return "\t" + "\t".join(kept) + "\t" if kept else "\t"


def search_fields(instance: Instance, account: str, profiles: Sequence[str] = ()) -> dict[str, str]:
    """Every field a term can search, for one node (`profiles`: every profile reaching it)."""
    tags = (
        "".join(
            "\t" + k.replace("=", " ").replace("\t", " ") + "=" + v.replace("\t", " ")
            for k, v in instance.tags.items()
        )
        .lower()
        .translate(_TAB_KEEP)
    )
    profiles = tuple(profiles) or (instance.profile,)
    name = instance.name.lower().translate(_ONE_LINE)
    iid = instance.instance_id.lower()
    status = instance.ping_status.lower()
    account_line = f"{account} {instance.account_id}".lower().translate(_ONE_LINE)
    profile_line = " ".join(profiles).lower().translate(_ONE_LINE)
    platform = f"{instance.platform_name} {instance.platform_type}".lower().translate(_ONE_LINE)
    blob = " ".join(
        (name, iid, tags.replace("\t", " "), instance.ip_address, account_line, profile_line,
         instance.region, platform, status, instance.computer_name.lower())
    )  # fmt: skip
    return {
        "blob": blob.translate(_ONE_LINE),
        "short": name,
        "exact": _words(instance.name, iid, instance.ip_address, instance.computer_name),
        "status": STATUS_WORDS.get(status, _words(status or "unknown")),
        "account": account_line,
        "profile": _words(*profiles),
        "region": instance.region.lower(),
        "platform": platform,
        "id": _words(iid),
        "name": name,
        "tags": tags or "\t",
        "ip": _words(instance.ip_address),
        "agent": instance.agent_version.lower(),
        "state": _words(instance.instance_state),
        "type": _words(instance.instance_type),
        "ami": _words(instance.image_id),
        "vpc": _words(instance.vpc_id),
        "subnet": _words(instance.subnet_id),
        # the ARN, and the name the fleet's IAM role column shows (issue 15)
        "iam": _words(instance.iam_role, instance.iam_role.rsplit("/", 1)[-1]),
        "computer": instance.computer_name.lower().translate(_ONE_LINE),
        "resource": _words(instance.resource_type),
    }


class Term(NamedTuple):
    """One filter word, ready to test a field's text."""

    field: str
    value: str
    """What is searched for, as a substring of the field (for word fields `\\tvalue\\t`)."""
    negate: bool = False
    pattern: re.Pattern[str] | None = None
    """Tags and wildcards: searched in the field instead of `value`."""
    fuzzy: re.Pattern[str] | None = None
    """Free words of 3+ letters also match the name with their letters in order."""
    word: str = ""
    """The free word as typed (lowercase), for ranking; empty for field terms."""

    def hit(self, fields: dict[str, str]) -> bool:
        text = fields[self.field]
        if self.pattern is not None:
            return self.pattern.search(text) is not None
        if self.value in text:
            return True
        return self.fuzzy is not None and self.fuzzy.match(fields["short"]) is not None

    @property
    def cache_key(self) -> tuple[str, str, bool]:
        return (self.field, self.value, self.pattern is not None)


def _in_order(value: str) -> re.Pattern[str]:
    """Letters in order, without backtracking blow-up (negated classes, greedy)."""
    return re.compile("".join(f"[^{re.escape(ch)}]*{re.escape(ch)}" for ch in value))


def _glob(value: str, *, whole: bool) -> re.Pattern[str]:
    """`*` as "any characters within one value"; `whole`: the value is a tab-separated word."""
    body = r"[^\t]*".join(re.escape(part) for part in value.split("*"))
    return re.compile(r"\t" + body + r"\t" if whole else body)


def _tag(value: str) -> re.Pattern[str]:
    key, sep, wanted = value.partition("=")
    glob = r"[^\t]*".join(re.escape(part) for part in key.split("*"))
    body = (
        glob + "=" + (r"[^\t]*?" + r"[^\t]*".join(map(re.escape, wanted.split("*"))) if sep else "")
    )
    return re.compile("\t" + body)


def _unquote(value: str) -> tuple[str, bool]:
    """(value, exact): `"x"` and `=x` ask for exactly x."""
    if len(value) >= 2 and value.startswith('"'):
        return value.strip('"'), True
    if value.startswith("=") and len(value) > 1:
        return value[1:].strip('"'), True
    return value, False


def make_term(raw: str) -> Term:
    """One term from its text (already lowercase)."""
    negate = raw.startswith("!") and len(raw) > 1
    word = raw[1:] if negate else raw
    prefix, sep, value = word.partition(":")
    field = PREFIXES.get(prefix) if sep and value else None
    if field is not None:
        value, exact = _unquote(value)
        if field == "tags":
            return Term("tags", value, negate, pattern=_tag(value))
        if field == "status":
            # a status word's start: `status:on`, `status:lost`, `status:offline`
            return Term("status", "\t" + value.replace("*", ""), negate)
        whole = field in WORD_FIELDS or exact
        if "*" in value:
            if value.endswith("*") and "*" not in value[:-1] and whole:
                return Term(field, "\t" + value[:-1], negate)  # a prefix: no regex needed
            return Term(field, value, negate, pattern=_glob(value, whole=whole))
        if whole:
            if field not in WORD_FIELDS:  # `name:"web-1"`: the whole name
                return Term(field, value, negate, pattern=re.compile(f"^{re.escape(value)}$"))
            return Term(field, "\t" + value + "\t", negate)
        return Term(field, value, negate)
    value, exact = _unquote(word)
    if exact:
        return Term("exact", "\t" + value + "\t", negate, word=value)
    if "*" in value:
        return Term("blob", value, negate, pattern=_glob(value, whole=False), word=value)
    fuzzy = _in_order(value) if len(value) >= 3 else None
    return Term("blob", value, negate, fuzzy=fuzzy, word=value)


_TOKEN = re.compile(r'[^\s"]*"[^"]*"?|\S+')


def split_terms(text: str) -> list[str]:
    """Whitespace-separated terms; a double-quoted part keeps its spaces (an open quote ends at
    the end of the text, so typing `"web 1` already filters)."""
    return [t for t in _TOKEN.findall(text) if t.strip('"')]


class Query(NamedTuple):
    """A parsed filter: every term must hold. `has_status` turns online-only off."""

    text: str
    terms: tuple[Term, ...]
    has_status: bool

    def matches(self, fields: dict[str, str]) -> bool:
        """Whether one row's fields pass (models evaluate whole columns at once instead)."""
        return all(term.hit(fields) != term.negate for term in self.terms)

    @property
    def ranked(self) -> bool:
        """Whether the order depends on how well rows match (a free word is present)."""
        return any(term.word and not term.negate for term in self.terms)

    def rank(self, fields: dict[str, str]) -> int:
        """0 when every free word is an exact name/id/IP; more for prefixes, substrings, fuzzy."""
        return sum(
            _tier(t, fields["exact"], fields["short"], fields["blob"])
            for t in self.terms
            if t.word and not t.negate
        )


def _tier(term: Term, exact: str, short: str, blob: str) -> int:
    word = term.word
    if term.field == "exact" or "\t" + word + "\t" in exact:
        return 0
    if short.startswith(word) or "\t" + word in exact:
        return 1
    if term.pattern is None and word in blob:
        return 2
    return 3


def parse_query(text: str) -> Query:
    """Parse a filter text; unknown `field:` prefixes are plain words."""
    terms = tuple(make_term(raw) for raw in split_terms(text.lower()))
    # a status term, or a name asked for exactly, shows offline rows too ("online only" off)
    has_status = any(term.field in ("status", "exact") and not term.negate for term in terms)
    return Query(text=text, terms=terms, has_status=has_status)


class Index:
    """Column texts of many rows and a cache of term results: a keystroke is a few C-speed scans.

    While typing, "web" only needs the rows "we" matched (a substring or in-order match of "web"
    implies one of "we"), so each keystroke scans fewer rows; backspace is a cache hit.
    """

    def __init__(self, fields: Iterable[dict[str, str]]) -> None:
        rows = list(fields)
        self.size = len(rows)
        self.columns: dict[str, list[str]] = {name: [r[name] for r in rows] for name in FIELDS}
        self._cache: dict[tuple[str, str, bool], set[int]] = {}

    def term_rows(self, term: Term) -> set[int]:
        """Rows (indices) the term holds for, ignoring negation."""
        key = term.cache_key
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        candidates: Iterable[int] = range(self.size)
        if term.pattern is None and len(term.value) > 1:
            # the same term one letter shorter holds for a superset (a whole word `\tprod\t`
            # for a subset of its prefix `\tprod`), unless only this one also matches fuzzily
            narrower = self._cache.get((term.field, term.value[:-1], False))
            shorter_fuzzy = term.field == "blob" and len(term.value) - 1 >= 3
            if narrower is not None and (term.fuzzy is None or shorter_fuzzy):
                candidates = narrower
        lines = self.columns[term.field]
        if term.pattern is not None:
            search = term.pattern.search
            hit = {i for i in candidates if search(lines[i])}
        else:
            value = term.value
            hit = {i for i in candidates if value in lines[i]}
            if term.fuzzy is not None:
                shorts, match = self.columns["short"], term.fuzzy.match
                hit |= {i for i in candidates if i not in hit and match(shorts[i])}
        self._cache[key] = hit
        return hit

    def select(self, query: Query, base: set[int]) -> list[int]:
        """Indices of `base` that pass `query`: in index order, best matches first if ranked."""
        selected = base
        for term in query.terms:
            hits = self.term_rows(term)
            selected = selected - hits if term.negate else selected & hits
        order = sorted(selected)
        if not query.ranked or len(order) < 2:
            return order
        free = [t for t in query.terms if t.word and not t.negate]
        if len(free) == 1 and free[0].field == "blob" and free[0].pattern is None:
            return self._bucketed(free[0], selected, order)
        exact, short, blob = self.columns["exact"], self.columns["short"], self.columns["blob"]

        def rank(i: int) -> int:
            return sum(_tier(t, exact[i], short[i], blob[i]) for t in free)

        return sorted(order, key=rank)  # stable: the view's order within a tier

    def _bucketed(self, term: Term, selected: set[int], order: list[int]) -> list[int]:
        # `order` is `selected` sorted: returned as it is when every row is in one tier
        """One free word (the usual case), ranked with cached set scans instead of a key per row:
        exact name/id/IP, then a name/id/IP starting with it, then substrings, then fuzzy."""
        word = term.word
        exact = self.term_rows(Term("exact", "\t" + word + "\t")) & selected
        prefix = self.term_rows(Term("exact", "\t" + word)) & selected
        substring = self.term_rows(Term("blob", word)) & selected
        if len(exact) + len(prefix) == 0 and len(substring) == len(selected):
            return order  # one tier: the view's own order
        rest = selected - prefix  # (set operations and int sorts run at C speed)
        return [
            *sorted(exact),
            *sorted(prefix - exact),
            *sorted(rest & substring),
            *sorted(rest - substring),
        ]


def filter_instances(
    instances: Sequence[Instance],
    text: str,
    *,
    online_only: bool = True,
    profiles_of: Mapping[str, Sequence[str]] | None = None,
) -> list[Instance]:
    """The instances a filter keeps, best matches first (the CLIs' `--filter`).

    As in the fleet table, only Online instances pass unless the filter names a status or
    `online_only` is off. `profiles_of` maps an instance key to every profile reaching its node.
    """
    query = parse_query(text)
    keep = [
        i for i in instances if i.ping_status == "Online" or not online_only or query.has_status
    ]
    if not query.terms:
        return keep
    index = Index(
        search_fields(i, i.account_label or i.profile, (profiles_of or {}).get(i.key, (i.profile,)))
        for i in keep
    )
    return [keep[n] for n in index.select(query, set(range(len(keep))))]
