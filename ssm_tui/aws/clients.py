"""aiobotocore clients for any profile, with one cached session per profile and audit-friendly
assume-role session names.

Why sessions are cached: a botocore session caches the resolved credentials (one AssumeRole or SSO
GetRoleCredentials per profile, refreshed by botocore before they expire), so refreshing the fleet
every few minutes does not re-assume every role. Sessions are kept per event loop because
aiobotocore's refreshable credentials hold asyncio locks, and per "config fingerprint" (AWS_*
variables, config file times) so an edited ~/.aws/config is picked up without restarting.

Clients are long-lived: a fleet listing needs SSM and EC2 per profile and region, and a new
client costs ~30 ms of CPU (a TLS context loading the CA bundle, a client class with one method per
operation: EC2 has ~700). So `client()` keeps one per profile, service, region and endpoint for the
life of the event loop (the app's AWS thread, or a CLI's `asyncio.run`), and they are closed when
that loop shuts down. Sessions share one data loader (each model's JSON parsed once) and start from
a copy of one emitter that already holds the built-in handlers (~10 ms per session otherwise).
Only public aiobotocore/botocore API is used: credentials, config and retries are botocore's own.

Audit attribution: botocore names a role session `botocore-session-<digits>` when the profile has
no `role_session_name`, which makes every Session Manager id and CloudTrail entry anonymous. Before
first use of such a profile we write the caller's own name (the source profile's IAM user name from
GetCallerIdentity, else the local user name) into *this session's in-memory copy* of the config;
the file is never touched. A configured `role_session_name` always wins, and the settings switch
`audit_role_session_name = false` (global or per profile) turns this off.
"""

from __future__ import annotations

import asyncio
import copy
import getpass
import logging
import os
import re
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import botocore.loaders
import botocore.session
from aiobotocore.config import AioConfig
from aiobotocore.hooks import AioHierarchicalEmitter
from aiobotocore.session import AioSession
from botocore import exceptions as bce

from ssm_tui import __version__
from ssm_tui.aws import profiles as profiles_mod
from ssm_tui.aws.errors import UnknownProfileError
from ssm_tui.aws.profiles import ENV_PROFILE, _config_error
from ssm_tui.aws.settings import load_settings

log = logging.getLogger(__name__)

RETRY_MODE = "standard"
"""botocore's retry mode: exponential backoff with jitter, throttling errors retried.

Not "adaptive": its client-side token bucket lives in one client, and ours are short-lived (one
per scope), so it only adds waiting (measured: 30 % throttling took ~2x longer to list the same
fleet); the per-account semaphores in `inventory` are what keeps the request rate bounded."""
MAX_ATTEMPTS = 8
"""Attempts per call (1 + 7 retries with botocore's exponential backoff and jitter)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
MAX_POOL_CONNECTIONS = 40
"""Connections one client keeps: the inventory's 32 concurrent calls per account and region plus
its own page chains on the same client, so none of them waits for a free connection."""

BASE_CONFIG = AioConfig(
    retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    max_pool_connections=MAX_POOL_CONNECTIONS,
    user_agent_appid=f"ssm-tui-{__version__}",
)

_ROLE_SESSION_NAME_RE = re.compile(r"[^\w+=,.@-]", re.ASCII)

_loader: botocore.loaders.Loader | None = None
_template_emitter: AioHierarchicalEmitter | None = None
_identities: dict[tuple, dict[str, str]] = {}
_endpoints: dict[tuple, str] = {}
_identity_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _shared_loader() -> botocore.loaders.Loader:
    """One data loader for every session: each service model's JSON is parsed once."""
    global _loader
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    return _loader


def _new_session() -> AioSession:
    """A fresh aiobotocore session, its built-in handlers copied from a template emitter.

    Registering the handlers (with aiobotocore's signature checks) is most of a session's cost;
    the handlers are module-level functions, so a copy of one registered emitter is equivalent.
    Only public API: the session's `event_hooks` and `include_builtin_handlers` arguments, the
    emitter's `__copy__` and the `data_loader` component.
    """
    global _template_emitter
    if _template_emitter is None:
        emitter = AioHierarchicalEmitter()
        AioSession(event_hooks=emitter)  # registers botocore's built-in handlers into `emitter`
        _template_emitter = emitter
    session = AioSession(event_hooks=copy.copy(_template_emitter), include_builtin_handlers=False)
    session.register_component("data_loader", _shared_loader())
    return session


class _LoopClients:
    """The sessions and open clients of one event loop and one config fingerprint.

    aiobotocore's clients and refreshable credentials belong to the loop they were made on, so
    each loop has its own. A client stays open until the loop ends (`_lifetime`), `aclose()`, or
    `forget_sessions()`; one whose config changed is retired, not closed, so a call in flight on
    it finishes.
    """

    def __init__(self, fingerprint: tuple) -> None:
        self.fingerprint = fingerprint
        self.sessions: dict[str | None, AioSession] = {}
        self.clients: dict[tuple, Any] = {}
        self.locks: dict[tuple, asyncio.Lock] = {}
        self.stack = AsyncExitStack()
        self.retired: list[_LoopClients] = []
        self.lifetime: AsyncGenerator[None, None] | None = None

    def lock(self, key: tuple) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    async def aclose(self) -> None:
        """Close every client (idempotent); errors closing one never stop the others."""
        retired, self.retired = self.retired, []
        for old in retired:
            await old.aclose()
        self.clients.clear()
        self.sessions.clear()
        stack, self.stack = self.stack, AsyncExitStack()
        try:
            await stack.aclose()
        except Exception:  # noqa: BLE001 - a connection that fails to close is gone anyway
            log.debug("closing AWS clients failed", exc_info=True)


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
    weakref.WeakKeyDictionary()
)


async def _lifetime(state: _LoopClients) -> AsyncGenerator[None, None]:
    """Closes the loop's clients when the loop shuts its async generators down.

    `asyncio.run`, `asyncio.Runner` (pytest-asyncio) and the app's AWS thread call
    `loop.shutdown_asyncgens()` before closing a loop; that runs this `finally`. Dropping the
    generator (`forget_sessions`) makes asyncio's finalizer close it, on its own loop.
    """
    try:
        yield
    finally:
        await state.aclose()


async def _loop_clients() -> _LoopClients:
    """This loop's state for the current config fingerprint (the old one retired if stale)."""
    loop = asyncio.get_running_loop()
    fingerprint = config_fingerprint()
    state = _loops.get(loop)
    if state is not None and state.fingerprint == fingerprint:
        return state
    fresh = _LoopClients(fingerprint)
    if state is not None:
        fresh.retired.append(state)  # its generator still closes it when the loop ends
    fresh.lifetime = _lifetime(fresh)
    await fresh.lifetime.__anext__()
    _loops[loop] = fresh
    return fresh


def config_fingerprint() -> tuple:
    """What makes a cached session stale: AWS_* variables and the config files' modification."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    stamps = []
    for var, default in (
        ("AWS_CONFIG_FILE", "~/.aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ):
        path = os.path.expanduser(os.path.expandvars(os.environ.get(var, default)))
        try:
            st = os.stat(path)
            stamps.append((path, st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((path, 0, 0))
    return (env, tuple(stamps), os.environ.get("HOME", ""))


def sanitize_role_session_name(name: str) -> str:
    """Make `name` valid for STS RoleSessionName: [\\w+=,.@-], 2..64 characters."""
    clean = _ROLE_SESSION_NAME_RE.sub("-", name.strip())[:64]
    if len(clean) < 2:
        clean = (clean + "-ssm-tui")[:64]
    return clean


def local_user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "ssm-tui"


def _botocore_profile(profile: str | None, config: dict) -> str | None:
    """The name botocore should use: None means "the default chain" (the env profile)."""
    if profile is None:
        return None
    if profile == ENV_PROFILE and profile not in config.get("profiles", {}):
        return None
    return profile


def _prepare(session: botocore.session.Session, profile: str | None) -> str | None:
    """Load the config into `session`, inject discovered profiles, select `profile`.

    The discovered profiles and the audit name go into this session's own `full_config` (the
    dict botocore's credential providers read), never into a file.
    """
    try:
        config = session.full_config
    except bce.ConfigParseError as exc:
        raise _config_error(exc) from None
    name = _botocore_profile(profile, config)
    if name is None:
        # The default chain: AWS_PROFILE (if set) still names a profile that may need the audit
        # name; it is not made explicit, so AWS_ACCESS_KEY_ID keeps botocore's precedence.
        chosen = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        return chosen if chosen and chosen in config.get("profiles", {}) else None
    discovered = profiles_mod.discovered_config(name)
    if discovered is not None:
        config["profiles"][name] = discovered
    if name not in config["profiles"]:
        raise UnknownProfileError(name, profiles_mod.known_profile_names())
    session.set_config_variable("profile", name)
    return name


async def get_session(profile: str | None) -> AioSession:
    """The aiobotocore session of `profile` in this event loop (created on first use).

    One per profile, config fingerprint and loop: it holds the profile's resolved credentials.
    """
    state = await _loop_clients()
    key = ("session", profile)
    if profile in state.sessions:
        return state.sessions[profile]
    async with state.lock(key):
        if profile in state.sessions:
            return state.sessions[profile]
        session = _new_session()
        # Also the config of botocore's own STS/SSO clients (AssumeRole, GetRoleCredentials).
        session.set_default_client_config(BASE_CONFIG)
        name = _prepare(session, profile)
        if name is not None:
            await _apply_audit_name(session, name)
        state.sessions[profile] = session
        return session


async def _apply_audit_name(session: AioSession, profile: str) -> None:
    """Give role profiles without role_session_name the caller's name (see module docstring)."""
    profiles = session.full_config["profiles"]
    cfg = profiles.get(profile, {})
    if not cfg.get("role_arn") or cfg.get("role_session_name"):
        return
    if not load_settings().audit_for(profile):
        return
    name = await _caller_name(profile, profiles)
    # The whole chain of role profiles botocore walks for `profile` gets the same name.
    seen: set[str] = set()
    current: str | None = profile
    while current and current not in seen and current in profiles:
        seen.add(current)
        link = profiles[current]
        if link.get("role_arn") and not link.get("role_session_name"):
            if current == profile or load_settings().audit_for(current):
                link["role_session_name"] = name
        current = link.get("source_profile")


async def _caller_name(profile: str, profiles: dict) -> str:
    """The source identity's own name (IAM user or role session), else the local user name."""
    source = profiles.get(profile, {}).get("source_profile")
    name: str | None = None
    if source and source != profile and source in profiles:
        try:
            identity = await caller_identity(source, profiles[source].get("region"))
            name = caller_name_from_arn(identity.get("Arn", ""))
        except Exception:  # noqa: BLE001 - the AssumeRole that follows reports the real problem
            name = None
    return sanitize_role_session_name(name or local_user_name())


async def caller_identity(profile: str | None, region: str | None = None) -> dict[str, str]:
    """STS GetCallerIdentity of `profile` (Account, Arn, UserId), once per profile and config.

    Shared by the audit naming (the source profile's user name) and `accounts` (the account id),
    so a login profile behind twenty switch-role profiles is asked once, not twenty times.
    """
    key = (config_fingerprint(), profile)
    if key in _identities:
        return _identities[key]
    loop = asyncio.get_running_loop()
    lock = _identity_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())
    async with lock:
        if key not in _identities:
            async with client("sts", profile, region or "us-east-1") as sts:
                reply = await sts.get_caller_identity()
            _identities[key] = {k: str(reply.get(k, "")) for k in ("Account", "Arn", "UserId")}
    return _identities[key]


def caller_name_from_arn(arn: str) -> str | None:
    """`alice` from `...:user/alice` or `...:assumed-role/Role/alice`; None for root."""
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    if not resource or resource == "root" or "/" not in resource:
        return None
    return resource.rsplit("/", 1)[-1] or None


@asynccontextmanager
async def client(
    service: str,
    profile: str | None,
    region: str | None,
    *,
    config: AioConfig | None = None,
    endpoint_url: str | None = None,
) -> AsyncIterator[Any]:
    """An aiobotocore client of `service` for `profile` in `region` (and `endpoint_url`).

    The client is long-lived: one per profile, service, region and endpoint for the life of the
    event loop, shared by every caller (aiobotocore clients are safe for concurrent calls), so
    a refresh reuses its connections and none pays for a new client; leaving the `async with`
    does not close it. A client with its own `config` (e.g. unsigned SSO calls) is made for the
    block and closed after it.

    Credentials follow botocore's chain for the profile (keys, assume-role, SSO, credential_process,
    AWS_* variables, AWS_ENDPOINT_URL*). Retries: botocore's RETRY_MODE, MAX_ATTEMPTS attempts.
    Raises `UnknownProfileError` / `ConfigError`; AWS errors are botocore's (see `errors.explain`).
    """
    if config is not None:
        session = await get_session(profile)
        async with session.create_client(
            service, region_name=region, config=config, endpoint_url=endpoint_url
        ) as own:
            yield own
        return
    state = await _loop_clients()
    key = (service, profile, region, endpoint_url)
    found = state.clients.get(key)
    if found is None:
        async with state.lock(key):
            found = state.clients.get(key)
            if found is None:
                session = await get_session(profile)
                found = await state.stack.enter_async_context(
                    session.create_client(service, region_name=region, endpoint_url=endpoint_url)
                )
                state.clients[key] = found
    yield found


async def aclose() -> None:
    """Close this event loop's clients now (they also close when the loop shuts down)."""
    state = _loops.pop(asyncio.get_running_loop(), None)
    if state is not None:
        await state.aclose()


def resolved_endpoint(service: str, profile: str | None, region: str | None) -> str:
    """The endpoint URL botocore would call for `service` (e.g. the SSM endpoint for the plugin).

    Honours AWS_ENDPOINT_URL(_<SERVICE>), a profile's `endpoint_url` and `services` section; on
    real AWS it is `https://ssm.<region>.amazonaws.com`. No credentials are resolved or used.
    """
    key = (config_fingerprint(), service, profile, region)
    if key not in _endpoints:
        session = botocore.session.Session()
        session.register_component("data_loader", _shared_loader())
        _prepare(session, profile)
        c = session.create_client(
            service,
            region_name=region,
            aws_access_key_id="unused",
            aws_secret_access_key="unused",
        )
        _endpoints[key] = c.meta.endpoint_url
    return _endpoints[key]


def forget_sessions() -> None:
    """Drop cached sessions, clients and names (after `aws sso login`, or a settings change).

    A dropped loop's clients are closed on that loop by asyncio's async-generator finalizer
    (`_lifetime`), or when that loop shuts down.
    """
    _loops.clear()
    _identity_locks.clear()
    _identities.clear()
    _endpoints.clear()
