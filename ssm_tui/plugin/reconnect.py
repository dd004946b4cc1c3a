"""How long and how often the data channel tries to come back after its socket dropped.

The official plugin's 1.2.0.0 budget (6 tries, ~6 s) turns every Wi-Fi change or laptop sleep into
a dead session, and its unbounded ResumeSession retries froze clients for minutes once the
endpoint itself was gone. The rules here fit a person waiting:

- a dropped socket (any close without `channel_closed`: the service's hourly close 1000, a ping
  timeout, an outage) is retried for `budget` seconds (10 minutes: as long as the session could
  still be alive on the service side), each try a fresh ResumeSession then an open, with
  exponential backoff from 0.1-0.2 s capped at `cap` seconds, so the session comes back within a
  few seconds of the network;
- when the endpoint refuses connections (nothing listens there: the sandbox was killed, a proxy
  is gone) retrying cannot help: after `refused_budget` seconds of refusals, give up and say so;
- ResumeSession saying the session is over ends it at once ("timed out", as the plugin says).

`Backoff` gives the delays; `classify` sorts a failure; `Attempts` holds one episode's state
and words the "reconnecting…" status lines.
"""

from __future__ import annotations

import errno
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

RECONNECT_BUDGET = 600.0
"""Seconds a dropped session keeps trying to reconnect (Session Manager's idle timeout is 20 min
by default; 10 min of trying covers sleep, roaming and service blips)."""
BACKOFF_CAP = 4.0
"""Longest wait between two tries: after an outage the session is back within this."""
REFUSED_BUDGET = 3.0
"""Seconds of 'connection refused' (from the API endpoint or the data channel) before giving up."""
FIRST_OPEN_BUDGET = 20.0
"""The first open (with StartSession's token) is retried this long."""
STATUS_EVERY = 15.0
"""While reconnecting, a 'still reconnecting' line this often (not one per try)."""

REFUSED = "refused"
RETRY = "retry"


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with jitter: 0.1-0.2 s, doubling, capped."""

    cap: float = BACKOFF_CAP
    initial: tuple[float, float] = (0.1, 0.2)
    rng: random.Random = field(default_factory=random.Random)

    def delays(self) -> Iterator[float]:
        delay = self.rng.uniform(*self.initial)
        while True:
            yield delay
            delay = min(self.cap, delay * 2) * self.rng.uniform(0.9, 1.1)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
        # botocore's EndpointConnectionError keeps the underlying error in its kwargs
        inner = getattr(current, "kwargs", {}).get("error") if hasattr(current, "kwargs") else None
        if isinstance(inner, BaseException):
            todo.append(inner)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)


def is_connection_refused(exc: BaseException) -> bool:
    """Does this failure (or anything it wraps) say that nothing listens at the endpoint?"""
    for link in _chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return True
        if isinstance(link, OSError) and link.errno == errno.ECONNREFUSED:
            return True
        text = str(link)
        if "Connect call failed" in text or "Connection refused" in text:
            return True
    return False


def classify(exc: BaseException) -> str:
    return REFUSED if is_connection_refused(exc) else RETRY


def describe(exc: BaseException) -> str:
    """A short reason for a status line (never a traceback, never a token)."""
    text = str(exc).strip() or type(exc).__name__
    text = text.splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass(slots=True)
class Attempts:
    """One reconnection episode: when it began, the refusals, what the user has been told."""

    budget: float = RECONNECT_BUDGET
    refused_budget: float = REFUSED_BUDGET
    started: float = field(default_factory=time.monotonic)
    count: int = 0
    refused_since: float | None = None
    last_status: float = 0.0
    last_reason: str = ""

    def elapsed(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started

    def failed(self, exc: BaseException, now: float | None = None) -> str | None:
        """Record a failed try; return why to give up now, or None to keep trying."""
        now = time.monotonic() if now is None else now
        self.count += 1
        if classify(exc) == REFUSED:
            if self.refused_since is None:
                self.refused_since = now
            if now - self.refused_since >= self.refused_budget:
                return f"the endpoint refused every connection for {now - self.refused_since:.0f} s"
        else:
            self.refused_since = None
        if now - self.started >= self.budget:
            return f"no connection for {self.elapsed(now):.0f} s"
        return None

    def status_due(self, reason: str, now: float | None = None) -> bool:
        """Should a 'still reconnecting' line go out now (reason changed, or STATUS_EVERY)?"""
        now = time.monotonic() if now is None else now
        if reason != self.last_reason or now - self.last_status >= STATUS_EVERY:
            self.last_reason = reason
            self.last_status = now
            return True
        return False
