"""What the app remembers between runs: the last profile/region selection and the filter.

A small JSON file in the user's state folder (`platformdirs.user_state_path("ssm-tui")`), apart
from the inventory cache (disposable) and the session record (history): losing it costs only a
selection. Written when the selection or the filter changed (checked once a second, so typing
in the filter box writes once it settles); read on the AWS thread with the config. The setting
`remember_selection = false` turns both off. `ssm-tui --profile/--region/--filter` win over it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "ssm-tui"
SAVE_EVERY = 1.0
"""Seconds between checks for a changed selection or filter."""


class UiState(NamedTuple):
    """The remembered selection: profile names, regions (empty: each profile's own), filter."""

    profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    filter: str = ""


def state_path() -> Path:
    return platformdirs.user_state_path(APP_NAME) / "ui-state.json"


def load(path: Path | None = None) -> UiState:
    """The last saved state; an empty one when there is none or it is unreadable."""
    path = path or state_path()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UiState()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return UiState()
    if not isinstance(data, dict):
        return UiState()

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list):
            return ()
        return tuple(v for v in value if isinstance(v, str))

    text = data.get("filter")
    return UiState(names("profiles"), names("regions"), text if isinstance(text, str) else "")


def save(state: UiState, path: Path | None = None) -> None:
    """Write atomically (a crash mid-write leaves the old file); failures are only logged."""
    path = path or state_path()
    data = {"profiles": list(state.profiles), "regions": list(state.regions),
            "filter": state.filter}  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not save %s: %s", path, exc)


def wanted(settings: object) -> bool:
    return bool(getattr(settings, "remember_selection", True))


def restored(state: UiState, known: set[str]) -> UiState | None:
    """The saved state if its profiles still exist (those that do); None when nothing to use."""
    profiles = tuple(p for p in state.profiles if p in known)
    if not profiles:
        return None
    return state._replace(profiles=profiles)


class Rememberer:
    """Saves the screen's selection and filter whenever they change (see the module doc)."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.saved: UiState | None = None

    def current(self) -> UiState:
        screen = self.screen
        text = ""
        with contextlib.suppress(Exception):  # the fleet gone at exit
            text = screen.fleet.model.query.text
        return UiState(tuple(screen.selected), tuple(screen.regions), text)

    def start(self, initial: UiState | None = None) -> None:
        self.saved = initial if initial is not None else self.current()
        self.screen.set_interval(SAVE_EVERY, self.check, name="ui-state")

    def check(self) -> None:
        now = self.current()
        if now != self.saved and now.profiles:
            save(now)
            self.saved = now
