"""What the sandbox hands the data channel: the session registry, live faults and AWS writers.

The data channel (`sandbox/datachannel.py`) runs on the asyncio loop, moto in a2wsgi's thread pool.
This object is the seam between them: `datachannel.serve(websocket, session, context)` gets it, and
transcripts land in moto's in-process backends so the ordinary AWS APIs (GetLogEvents, GetObject)
then serve them exactly as AWS would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

from ssm_tui.sandbox.sessions import SessionRegistry


@dataclass(slots=True)
class Faults:
    """Fault injection, read live on every call (the admin endpoint changes it at run time)."""

    latency_ms: int = 0
    """Delay added before every AWS API call."""
    throttle: float = 0.0
    """Fraction (0..1) of AWS API calls answered with the service's throttling error."""
    broken_profile: str | None = None
    """Profile whose credentials are rejected as expired (role profiles: the role credentials)."""
    ec2_throttled_profile: str | None = None
    """Profile whose EC2 calls are all throttled (RequestLimitExceeded), past any retries: the
    inventory's EC2 enrichment fails while that profile's SSM calls still answer."""
    ec2_denied_profile: str | None = None
    """Profile whose EC2 calls are all denied (UnauthorizedOperation), as for a role without
    ec2:DescribeInstances."""
    # issue 17 (who else is connected, in the fleet): DescribeSessions of one profile fails
    sessions_denied_profile: str | None = None
    """Profile whose SSM DescribeSessions calls are denied (AccessDeniedException)."""
    sessions_throttled_profile: str | None = None
    """Profile whose SSM DescribeSessions calls are all throttled, past any retries."""
    drop_sessions_after: float | None = None
    """Seconds after which the data channel cuts each session's websocket (None: never)."""
    socket_lifetime: float | None = None
    """Seconds after which the data channel closes each websocket with code 1000, as the service
    does about hourly (None: never). The session lives on; the client must ResumeSession."""
    data_channel_outage: float | None = None
    """Seconds of data-channel outage, counted from when it is set: every open fails and open
    sockets are cut. Reads back as the seconds left (None once over)."""
    data_channel_latency: int = 0
    """Milliseconds added to every data-channel frame, in each direction (RTT + 2 x this)."""
    _outage_until: float = field(default=0.0, repr=False)
    """time.monotonic() at which the outage ends (private: not in the admin JSON)."""

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _public_names()}
        values["data_channel_outage"] = self.outage_left()
        return values

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial JSON update, checking names and types so a typo is an error."""
        known = set(_public_names())
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        coerced = {name: _coerce(name, value) for name, value in changes.items()}
        for name, value in coerced.items():
            setattr(self, name, value)
            if name == "data_channel_outage":
                self._outage_until = time.monotonic() + value if value else 0.0

    def reset(self) -> None:
        self.update(Faults().as_dict())

    def outage_left(self) -> float | None:
        """Seconds the data-channel outage still lasts, None when there is none."""
        left = self._outage_until - time.monotonic()
        return round(left, 3) if left > 0 else None

    @property
    def outage(self) -> bool:
        return self._outage_until > time.monotonic()


def _public_names() -> list[str]:
    return [f.name for f in fields(Faults) if not f.name.startswith("_")]


def _coerce(name: str, value: Any) -> Any:
    if name == "latency_ms":
        number = int(value or 0)
        if number < 0:
            raise ValueError("latency_ms must be >= 0")
        return number
    if name == "throttle":
        fraction = float(value or 0.0)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("throttle must be between 0 and 1")
        return fraction
    if name in (
        "broken_profile",
        "ec2_throttled_profile",
        "ec2_denied_profile",
        "sessions_denied_profile",
        "sessions_throttled_profile",
    ):
        return str(value) if value else None
    if name == "data_channel_latency":
        number = int(value or 0)
        if not 0 <= number <= 60_000:
            raise ValueError("data_channel_latency must be between 0 and 60000 ms")
        return number
    if name == "data_channel_outage":
        seconds = float(value or 0.0)
        if seconds < 0:
            raise ValueError("data_channel_outage must be >= 0")
        return seconds or None
    if value is None:
        return None
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"{name} must be > 0")
    return seconds


@dataclass(slots=True)
class SandboxContext:
    """Everything the data channel may use; built once by the sandbox server."""

    registry: SessionRegistry
    faults: Faults
    loop: asyncio.AbstractEventLoop
    directory: str
    """The sandbox folder (config files, env file); the data channel may keep scratch files here."""

    def write_log_events(
        self,
        account_id: str,
        region: str,
        group: str,
        stream: str,
        events: list[tuple[int, str]],
    ) -> None:
        """Append events to a CloudWatch Logs stream (created if missing) in moto's backend.

        Callable from any thread; events are sorted by time as PutLogEvents requires.
        """
        from moto.logs.models import logs_backends

        backend = logs_backends[account_id][region]
        with _MOTO_WRITE_LOCK:
            if group not in backend.groups:
                backend.create_log_group(group, tags={})
            log_group = backend.groups[group]
            if stream not in log_group.streams:
                backend.create_log_stream(group, stream)
            if events:
                ordered = sorted(events, key=lambda event: event[0])
                backend.put_log_events(
                    group,
                    stream,
                    [{"timestamp": ts, "message": message} for ts, message in ordered],
                )

    def put_s3_object(self, account_id: str, bucket: str, key: str, body: bytes) -> None:
        """Store an object in moto's S3 (the bucket must exist: the sandbox seeds it)."""
        from moto.s3.models import s3_backends

        with _MOTO_WRITE_LOCK:
            s3_backends[account_id]["aws"].put_object(bucket, key, body)


_MOTO_WRITE_LOCK = threading.Lock()
