"""aiobotocore clients for any profile, one session per profile and one long-lived client per
profile, service, region and endpoint, with audit-friendly assume-role session names.

Only public aiobotocore/botocore API (issue 14): the session's constructor arguments, its
`data_loader` component, `full_config`, `create_client`, `set_default_client_config`.

Why sessions are cached: a botocore session caches the resolved credentials (one AssumeRole or SSO
GetRoleCredentials per profile, refreshed by botocore before they expire), so refreshing the fleet
every few minutes does not re-assume every role. Sessions are kept per event loop because
aiobotocore's refreshable credentials hold asyncio locks, and per "config fingerprint" (AWS_*
variables, config file times) so an edited ~/.aws/config is picked up without restarting.

Why clients are long-lived: a new aiobotocore client costs ~30 ms of CPU (a TLS context loading
the whole CA bundle, a `ServiceModel` and a client class with one method per operation: EC2 has
~700), and none of that has a public hook to share between clients. So `client()` makes one per
profile, service, region and endpoint and keeps it for the life of the event loop (the app's AWS
thread, a CLI's `asyncio.run`): a refresh, a history lookup or a session start reuses the client
and its open connections. They are closed when the loop shuts down, or after `forget_sessions()`.
What is shared between sessions, publicly: one data loader (each JSON model parsed once), a copy of
one emitter that already holds botocore's built-in handlers (~10 ms per session otherwise), and
the AWS config files parsed once per config fingerprint (each session gets its own copy).

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
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import botocore.loaders
import botocore.session
from aiobotocore.config import AioConfig
from aiobotocore.hooks import AioHierarchicalEmitter
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore import exceptions as bce

from ssm_tui import __version__
from ssm_tui.aws import context, credentials
from ssm_tui.aws import profiles as profiles_mod
from ssm_tui.aws.errors import UnknownProfileError
from ssm_tui.aws.models.history import caller_name_from_arn
from ssm_tui.aws.profiles import ENV_PROFILE, _config_error
from ssm_tui.aws.settings import load_settings

log = logging.getLogger(__name__)

RETRY_MODE = "standard"
"""botocore's retry mode: exponential backoff with jitter, throttling errors retried.

Not "adaptive": its client-side token bucket throttles the client that saw the throttling, and
the per-account semaphores in `inventory` already keep the request rate bounded (measured: 30 %
throttling took ~2x longer to list the same fleet with it)."""
MAX_ATTEMPTS = 8
"""Attempts per call (1 + 7 retries with botocore's exponential backoff and jitter)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
MAX_POOL_CONNECTIONS = 40
"""Connections one client keeps: the inventory's 32 concurrent calls per account and region plus
its own page chains on the same client, so none of them waits for a free connection."""


class SharedTLSHTTPSession(AIOHTTPSession):
    """aiobotocore's HTTP session, with TLS contexts shared by every client of the process.

    The one private hook left (issue 14), because no public way exists: stock aiobotocore
    builds a new `ssl.SSLContext` per client and loads the whole CA bundle into it (measured
    ~25 ms of CPU each; sharing it took a cold 80-scope listing from ~11 s of CPU to ~4 s), and
    its public `AioConfig(connector_args={"ssl_context": ...})` fails every call with the aiohttp
    backend (aiohttp: "ssl_context and ssl parameters are mutually exclusive"; aiobotocore 3.10).
    The override only caches what the builder returns: `_build_ssl_context(proxy_url)` in
    aiobotocore 3.8, `_build_ssl_contexts(proxy_url)` (endpoint and proxy contexts) from 3.9. If a
    release renames or reshapes both, `tls_sharing()` says so, clients fall back to stock
    aiobotocore (slower, same behaviour), and `tests/aws/test_client_reuse.py` fails to say the
    speed-up is gone.

    A context depends only on the inputs in the key below, and `ssl.SSLContext` is safe to share
    between connections. (A CA bundle edited on disk is read again by a new process.)
    """

    def _shared(self, kind: str, build: Any, proxy_url: str | None) -> Any:
        settings = self._proxy_config.settings
        key = (
            kind,
            self._verify,
            self._cert_file,
            self._key_file,
            proxy_url,
            repr(settings.get("proxy_ca_bundle")),
            repr(settings.get("proxy_client_cert")),
        )
        with _tls_lock:  # runs in worker threads: build each context once
            if key not in _tls_contexts:
                _tls_contexts[key] = build(proxy_url)
            return _tls_contexts[key]

    def _build_ssl_contexts(self, proxy_url: str | None) -> Any:  # aiobotocore >= 3.9
        return self._shared("contexts", super()._build_ssl_contexts, proxy_url)

    def _build_ssl_context(self, proxy_url: str | None) -> Any:  # aiobotocore 3.8
        return self._shared("context", super()._build_ssl_context, proxy_url)


_tls_lock = threading.Lock()
_tls_contexts: dict[tuple, Any] = {}
TLS_BUILDERS = ("_build_ssl_contexts", "_build_ssl_context")


def tls_builder() -> str | None:
    """The TLS builder of the installed aiobotocore that `SharedTLSHTTPSession` caches: a method
    `(self, proxy_url)`, on a session with the attributes the key reads; None when there is none."""
    import inspect

    probe = AIOHTTPSession()
    if not all(hasattr(probe, a) for a in ("_verify", "_cert_file", "_key_file", "_proxy_config")):
        return None
    for name in TLS_BUILDERS:
        method = getattr(AIOHTTPSession, name, None)
        if method is not None and list(inspect.signature(method).parameters) == [
            "self",
            "proxy_url",
        ]:
            return name
    return None


def tls_sharing() -> bool:
    """Whether `SharedTLSHTTPSession` shares TLS contexts with the installed aiobotocore."""
    return tls_builder() is not None


_TLS_OPTIONS = {"http_session_cls": SharedTLSHTTPSession} if tls_sharing() else {}

BASE_CONFIG = AioConfig(
    **_TLS_OPTIONS,
    retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    max_pool_connections=MAX_POOL_CONNECTIONS,
    user_agent_appid=f"ssm-tui-{__version__}",
)

_ROLE_SESSION_NAME_RE = re.compile(r"[^\w+=,.@-]", re.ASCII)

# What is learnt while running (sessions, clients, identities, endpoints, the parsed config) lives
# in the current `AwsContext` (`ssm_tui.aws.context`); below, botocore's read-only data, shared by
# every context: it never goes stale.
_loader: botocore.loaders.Loader | None = None
_template_emitter: AioHierarchicalEmitter | None = None


def _shared_loader() -> botocore.loaders.Loader:
    """One data loader for every session: each model's JSON is read and parsed once."""
    global _loader
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    return _loader


class _ConfiguredSession(AioSession):
    """An aiobotocore session whose `full_config` is the dict it was given.

    botocore parses the files on the first `full_config` read; ours comes parsed already (once per
    config fingerprint, leniently where botocore rejects a file: `profiles.load_full_config`),
    with the discovered profiles and the audit name written into this session's own copy. Every
    botocore reader of the config (credential providers, `get_scoped_config`, the profile map)
    goes through this public property."""

    def __init__(self, config: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ssm_tui_config = config

    @property
    def full_config(self) -> dict:
        return self.ssm_tui_config


class _ConfiguredSyncSession(botocore.session.Session):
    """The same for a plain botocore session (`resolved_endpoint`)."""

    def __init__(self, config: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ssm_tui_config = config

    @property
    def full_config(self) -> dict:
        return self.ssm_tui_config


def _new_session(config: dict) -> AioSession:
    """A fresh aiobotocore session, its built-in handlers copied from a template emitter.

    Registering the handlers (with aiobotocore's signature checks) is most of a session's cost;
    the handlers are module-level functions, so a copy of one registered emitter is equivalent.
    Public API only: the session's `event_hooks` and `include_builtin_handlers` arguments, the
    emitter's `copy` and the `data_loader` component.
    """
    global _template_emitter
    if _template_emitter is None:
        emitter = AioHierarchicalEmitter()
        AioSession(event_hooks=emitter)  # registers botocore's built-in handlers into `emitter`
        _template_emitter = emitter
    session = _ConfiguredSession(
        config, event_hooks=copy.copy(_template_emitter), include_builtin_handlers=False
    )
    session.register_component("data_loader", _shared_loader())
    return session


class LoopClients:
    """The open clients of one event loop (aiobotocore's clients belong to the loop they were
    made on). Closed when the loop shuts its async generators down (`lifetime`), by `aclose()`,
    or after `forget_sessions()`; errors closing one never stop the others."""

    def __init__(self) -> None:
        self.clients: dict[tuple, Any] = {}
        self.locks: dict[tuple, asyncio.Lock] = {}
        self.stack = AsyncExitStack()
        self.lifetime: AsyncGenerator[None, None] | None = None

    async def aclose(self) -> None:
        self.clients.clear()
        stack, self.stack = self.stack, AsyncExitStack()
        try:
            await stack.aclose()
        except Exception:  # noqa: BLE001 - a connection that fails to close is gone anyway
            log.debug("closing AWS clients failed", exc_info=True)


async def _lifetime(state: LoopClients) -> AsyncGenerator[None, None]:
    """Closes a loop's clients when it is finalized.

    `asyncio.run`, `asyncio.Runner` (pytest-asyncio) and the app's AWS thread call
    `loop.shutdown_asyncgens()` before closing a loop, which runs this `finally`; a generator
    dropped earlier (`forget_sessions`) is closed by asyncio's finalizer hook, on its own loop.
    """
    try:
        yield
    finally:
        await state.aclose()


async def _loop_clients() -> LoopClients:
    """The current context's open clients for the running loop."""
    loop = asyncio.get_running_loop()
    loops = context.current().clients
    state = loops.get(loop)
    if state is None:
        state = LoopClients()
        state.lifetime = _lifetime(state)
        await state.lifetime.__anext__()
        loops[loop] = state
    return state


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


def _parsed_config(fingerprint: tuple | None) -> dict:
    """A session's own copy of the parsed config files, parsed once per config fingerprint.

    Each session gets its own deep copy (the audit name and discovered profiles are written into
    it), so sessions stay independent; a 40-profile listing then parses the files once instead
    of once per profile (measured: ~7 % of the CPU of a cold 40-profile listing). The fingerprint
    holds the files' modification times and sizes, so an edited file is parsed again.
    """
    try:
        if fingerprint is None:
            return profiles_mod.load_full_config()  # botocore's, or lenient (issue 13)
        parsed = context.current().parsed_configs
        cached = parsed.get(fingerprint)
        if cached is None:
            # botocore's own parse, or (a file it rejects or cannot read) the lenient one, where
            # a broken section costs only its profile (`profiles.read_config`)
            cached = profiles_mod.load_full_config()
            parsed.clear()  # only the current fingerprint is worth keeping
            parsed[fingerprint] = cached
        return copy.deepcopy(cached)
    except bce.ConfigParseError as exc:
        raise _config_error(exc) from None


def _prepare(session: botocore.session.Session, profile: str | None) -> str | None:
    """Inject discovered profiles into `session`'s config and select `profile`."""
    config = session.full_config
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
        read = profiles_mod.read_config()  # left out for a bad line, or the file unreadable
        if (why := read.broken.get(name) or next(iter(read.lost), None)) is not None:
            raise why
        raise UnknownProfileError(name, profiles_mod.known_profile_names())
    session.set_config_variable("profile", name)
    return name


async def get_session(profile: str | None) -> AioSession:
    """The cached aiobotocore session of `profile` in this event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    key = (config_fingerprint(), profile)
    memory = context.current()
    cache = memory.sessions.setdefault(loop, {})
    if key in cache:
        return cache[key]
    lock = memory.locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())
    async with lock:
        if key in cache:
            return cache[key]
        session = _new_session(_parsed_config(key[0]))
        # Also the config of botocore's own STS/SSO clients (AssumeRole, GetRoleCredentials).
        session.set_default_client_config(BASE_CONFIG)
        name = _prepare(session, profile)
        credentials.install(session)  # deadlines: credential_process, unreachable endpoints
        if name is not None:
            await _apply_audit_name(session, name, key[0])
        cache[key] = session
        return session


async def _apply_audit_name(session: AioSession, profile: str, fingerprint: tuple) -> None:
    """Give role profiles without role_session_name the caller's name (see module docstring)."""
    profiles = session.full_config["profiles"]
    cfg = profiles.get(profile, {})
    if not cfg.get("role_arn") or cfg.get("role_session_name"):
        return
    settings = context.current().settings or load_settings()  # the app's, else the file's
    if not settings.audit_for(profile):
        return
    name = await _caller_name(profile, profiles, fingerprint)
    # The whole chain of role profiles botocore walks for `profile` gets the same name.
    seen: set[str] = set()
    current: str | None = profile
    while current and current not in seen and current in profiles:
        seen.add(current)
        link = profiles[current]
        if link.get("role_arn") and not link.get("role_session_name"):
            if current == profile or settings.audit_for(current):
                link["role_session_name"] = name
        current = link.get("source_profile")


async def _caller_name(profile: str, profiles: dict, fingerprint: tuple) -> str:
    """The source identity's own name (IAM user or role session), else the local user name."""
    source = profiles.get(profile, {}).get("source_profile")
    name: str | None = None
    looped = profiles_mod.source_loop(profile, profiles)  # botocore refuses it: no lookup
    if source and source != profile and source in profiles and not looped:
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
    memory = context.current()
    identities = memory.identities
    if key in identities:
        return identities[key]
    loop = asyncio.get_running_loop()
    lock = memory.locks.setdefault(loop, {}).setdefault(("identity", key), asyncio.Lock())
    async with lock:
        if key not in identities:
            async with client("sts", profile, region or "us-east-1") as sts:
                reply = await sts.get_caller_identity()
            identities[key] = {k: str(reply.get(k, "")) for k in ("Account", "Arn", "UserId")}
    return identities[key]


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

    The client is long-lived (see the module docstring): one per profile, service, region and
    endpoint for the life of the event loop, shared by every caller (aiobotocore clients are safe
    for concurrent calls); leaving the `async with` does not close it. A client with its own
    `config` (e.g. unsigned SSO calls) is made for the block and closed after it. A config edit
    (a new fingerprint) gets new clients: the key holds the fingerprint.

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
    key = (config_fingerprint(), service, profile, region, endpoint_url)
    found = state.clients.get(key)
    if found is None:
        async with state.locks.setdefault(key, asyncio.Lock()):
            found = state.clients.get(key)
            if found is None:
                session = await get_session(profile)
                found = await state.stack.enter_async_context(
                    session.create_client(service, region_name=region, endpoint_url=endpoint_url)
                )
                state.clients[key] = found
    yield found


async def aclose() -> None:
    """Close the running loop's clients now (they also close when the loop shuts down)."""
    state = context.current().clients.pop(asyncio.get_running_loop(), None)
    if state is not None:
        await state.aclose()


def resolved_endpoint(service: str, profile: str | None, region: str | None) -> str:
    """The endpoint URL botocore would call for `service` (e.g. the SSM endpoint for the plugin).

    Honours AWS_ENDPOINT_URL(_<SERVICE>), a profile's `endpoint_url` and `services` section; on
    real AWS it is `https://ssm.<region>.amazonaws.com`. No credentials are resolved or used.
    """
    key = (config_fingerprint(), service, profile, region)
    endpoints = context.current().endpoints
    if key not in endpoints:
        session = _ConfiguredSyncSession(_parsed_config(key[0]))
        session.register_component("data_loader", _shared_loader())
        _prepare(session, profile)
        c = session.create_client(
            service,
            region_name=region,
            aws_access_key_id="unused",
            aws_secret_access_key="unused",
        )
        endpoints[key] = c.meta.endpoint_url
    return endpoints[key]


def forget_sessions() -> None:
    """Drop cached sessions, clients and names (after `aws sso login`, or a settings change).

    The clients are closed on their own loops (asyncio's finalizer for their `lifetime`)."""
    context.current().forget_sessions()
