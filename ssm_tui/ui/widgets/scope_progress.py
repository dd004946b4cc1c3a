"""One line above the fleet table: how far the refresh is, and which profiles failed and why.

A line, not an overlay, so progress never covers the table; the full list of failures (with the
next step for each) is one key away (`e`).
"""

from __future__ import annotations

from rich.text import Text

from ssm_tui.aws.models import Scope, ScopeError
from ssm_tui.ui.widgets.line import Line


class ScopeProgress(Line):
    """`profiles 3/5 · refreshing…` plus the first failure and its hint."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.pending: set[Scope] = set()
        self.done: set[Scope] = set()
        self.errors: dict[Scope, ScopeError] = {}
        self.cached_only = False

    def start(self, scopes: list[Scope]) -> None:
        self.pending = set(scopes)
        self.done = set()
        self.errors = {}
        self._draw()

    def scope_done(self, scope: Scope, error: ScopeError | None) -> None:
        self.pending.discard(scope)
        self.done.add(scope)
        if error is None:
            self.errors.pop(scope, None)
        else:
            self.errors[scope] = error
        self._draw()

    def finish(self) -> None:
        self.pending.clear()
        self._draw()

    def _draw(self) -> None:
        total = len(self.pending) + len(self.done)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.pending:
            line.append("⟳ ", style="bold cyan")
            line.append(f"refreshing {len(self.done)}/{total} profile·regions")
        else:
            line.append("✓ ", style="bold green")
            line.append(f"{total} profile·regions up to date")
        if self.errors:
            line.append("  ·  ")
            line.append(f"✗ {len(self.errors)} failed: ", style="bold red")
            scope, error = next(iter(sorted(self.errors.items(), key=lambda kv: kv[0].profile)))
            line.append(f"{scope.profile}/{scope.region}: ", style="bold")
            line.append(error.message)
            if error.hint:
                line.append(f" → {error.hint}", style="italic")
            if len(self.errors) > 1:
                line.append(f"  (+{len(self.errors) - 1} more: press e)")
        self.update(line)

    def describe_errors(self) -> list[tuple[Scope, ScopeError]]:
        return sorted(self.errors.items(), key=lambda kv: (kv[0].profile, kv[0].region))
