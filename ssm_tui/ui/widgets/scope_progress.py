"""One line above the fleet table: how far the refresh is, and which profiles failed and why.

A line, not an overlay, so progress never covers the table; the full list of failures (with the
next step for each) is one key away (`e`). Three kinds of trouble stay on it until they are gone
(issue 13: each used to fade with its notification while the line said "up to date"):
- a broken AWS config file (`config_problems`, re-read after every refresh),
- scopes that failed (their rows, if any, are the cached ones, dimmed in the table),
- scopes listed without part of their detail (`ScopeResult.partial`: EC2 throttled or denied).
"""

from __future__ import annotations

from rich.text import Text

from ssm_tui.aws.models import Scope, ScopeError
from ssm_tui.ui.widgets.line import Line

CONFIG_SCOPE = Scope("AWS config", "")
"""Where config problems sort in `describe_errors` (not a profile)."""


class ScopeProgress(Line):
    """`profiles 3/5 · refreshing…` plus the first failure and its hint."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.pending: set[Scope] = set()
        self.done: set[Scope] = set()
        self.errors: dict[Scope, ScopeError] = {}
        self.partial: dict[Scope, ScopeError] = {}
        self.config_problems: list[str] = []
        self.cached_only = False

    def start(self, scopes: list[Scope]) -> None:
        self.pending = set(scopes)
        self.done = set()
        self.errors = {}
        self.partial = {}
        self._draw()

    def scope_done(
        self, scope: Scope, error: ScopeError | None, partial: ScopeError | None = None
    ) -> None:
        self.pending.discard(scope)
        self.done.add(scope)
        if error is None:
            self.errors.pop(scope, None)
        else:
            self.errors[scope] = error
        if partial is None:
            self.partial.pop(scope, None)
        else:
            self.partial[scope] = partial
        self._draw()

    def set_config_problems(self, problems: list[str]) -> None:
        """The AWS config's problems now (file and line each); [] once the file is fixed."""
        if problems != self.config_problems:
            self.config_problems = list(problems)
            self._draw()

    def finish(self) -> None:
        self.pending.clear()
        self._draw()

    def _draw(self) -> None:
        total = len(self.pending) + len(self.done)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.config_problems:
            line.append("✗ AWS config: ", style="bold red")
            line.append(self.config_problems[0])
            if len(self.config_problems) > 1:
                line.append(f" (+{len(self.config_problems) - 1} more: press e)")
            line.append("  ·  ")
        if self.pending:
            line.append("⟳ ", style="bold cyan")
            line.append(f"refreshing {len(self.done)}/{total} profile·regions")
        else:
            line.append("✓ ", style="bold green")
            line.append(f"{total - len(self.errors)} profile·regions up to date")
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
        if self.partial:
            line.append("  ·  ")
            line.append(f"⚠ {len(self.partial)} without EC2 detail: ", style="bold yellow")
            line.append(", ".join(sorted(f"{s.profile}/{s.region}" for s in self.partial)))
            line.append(" (press e)")
        self.update(line)

    def describe_errors(self) -> list[tuple[Scope, ScopeError]]:
        """Config problems, failed scopes, then scopes listed without part of their detail."""
        found = [
            (CONFIG_SCOPE, ScopeError("AWS config", None, problem))
            for problem in self.config_problems
        ]
        found += sorted(self.errors.items(), key=lambda kv: (kv[0].profile, kv[0].region))
        found += sorted(self.partial.items(), key=lambda kv: (kv[0].profile, kv[0].region))
        return found
