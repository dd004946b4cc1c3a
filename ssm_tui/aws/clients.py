"""aiobotocore clients for any profile, with one cached session per profile and audit-friendly
assume-role session names.

Why sessions are cached: a botocore session caches the resolved credentials (one AssumeRole or SSO
GetRoleCredentials per profile, refreshed by botocore before they expire), so refreshing the fleet
every few minutes does not re-assume every role. Sessions are kept per event loop because
aiobotocore's refreshable credentials hold asyncio locks, and per "config fingerprint" (AWS_*
variables, config file times) so an edited ~/.aws/config is picked up without restarting.

Client creation is made cheap because a fleet listing creates hundreds of clients (SSM and EC2
per profile and region, STS per AssumeRole). Stock aiobotocore spends ~10 ms of CPU per session
registering its ~130 built-in event handlers, and per client ~20 ms loading the CA bundle into a
new TLS context plus ~10 ms re-reading the service model and building a client class with one
method per operation (EC2 has ~700). Here all sessions share one data loader (JSON parsed once),
start from a copy of one emitter that already holds the built-in handlers, share one
`ServiceModel` and client class per service (`_SharedClientCreator`) and one TLS context per
verify setting (`SharedTLSHTTPSession`), and the AWS config files are parsed once per config
fingerprint, each session getting its own copy (`_full_config`). Credentials, config and retries
stay per session, exactly botocore's.

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
import os
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiobotocore.session
import botocore.loaders
import botocore.session
import botocore.utils
from aiobotocore.client import AioBaseClient, AioClientCreator
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

_tls_lock = threading.Lock()
_tls_contexts: dict[tuple, tuple[Any, Any]] = {}


class SharedTLSHTTPSession(AIOHTTPSession):
    """aiobotocore's HTTP session, with TLS contexts shared by every client of the process.

    Stock aiobotocore builds a new SSL context per client and loads the whole CA bundle into it
    (~20 ms of CPU, in a worker thread), which was most of the cost of a new client. A context
    depends only on the inputs in the key below, and `ssl.SSLContext` is safe to share between
    connections, so one per distinct key is built and reused. (A CA bundle edited on disk is read
    again by a new process, as with any long-lived TLS client.)
    """

    def _build_ssl_contexts(self, proxy_url: str | None) -> tuple[Any, Any]:
        settings = self._proxy_config.settings
        key = (
            self._verify,
            self._cert_file,
            self._key_file,
            proxy_url,
            repr(settings.get("proxy_ca_bundle")),
            repr(settings.get("proxy_client_cert")),
        )
        with _tls_lock:  # runs in worker threads: build each context once
            if key not in _tls_contexts:
                _tls_contexts[key] = super()._build_ssl_contexts(proxy_url)
            return _tls_contexts[key]


BASE_CONFIG = AioConfig(
    http_session_cls=SharedTLSHTTPSession,
    retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    max_pool_connections=MAX_POOL_CONNECTIONS,
    user_agent_appid=f"ssm-tui-{__version__}",
)

_ROLE_SESSION_NAME_RE = re.compile(r"[^\w+=,.@-]", re.ASCII)

# What is learnt while running (sessions, identities, endpoints, the parsed config) lives in
# the current `AwsContext` (`ssm_tui.aws.context`); below, botocore's read-only data, shared by
# every context: it never goes stale.
_loader: botocore.loaders.Loader | None = None
_template_emitter: AioHierarchicalEmitter | None = None
_service_models: dict[tuple, Any] = {}
_client_methods: dict[tuple, dict[str, Any]] = {}
_client_classes: dict[tuple, tuple[type, dict[str, Any]]] = {}


def _shared_loader() -> botocore.loaders.Loader:
    global _loader
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    return _loader


class _SharedClientCreator(AioClientCreator):
    """aiobotocore's client creator, sharing service models and client classes between sessions.

    Only for clients whose session uses our shared loader (ours); any other session gets stock
    behaviour. Sharing is safe because a `ServiceModel` is read-only once built and a client class
    only holds the operation methods (closures over the operation name), while everything that
    differs per client (credentials, endpoint, config, event handlers) lives on the instance. The
    `creating-client-class` handlers still run for every client, on a copy of the cached methods;
    a class is reused only when they produce exactly the same attributes and bases.
    """

    def _load_service_model(self, service_name: str, api_version: str | None = None) -> Any:
        if self._loader is not _loader:
            return super()._load_service_model(service_name, api_version)
        key = (service_name, api_version)
        if key not in _service_models:
            _service_models[key] = super()._load_service_model(service_name, api_version)
        return _service_models[key]

    async def _create_client_class(self, service_name: str, service_model: Any) -> type:
        if self._loader is not _loader:
            return await super()._create_client_class(service_name, service_model)
        model_key = (service_name, id(service_model))
        if model_key not in _client_methods:
            methods = self._create_methods(service_model)
            methods["_PY_TO_OP_NAME"] = self._create_name_mapping(service_model)
            _client_methods[model_key] = methods
        class_attributes = dict(_client_methods[model_key])
        bases: list[type] = [AioBaseClient]
        service_id = service_model.service_id.hyphenize()
        await self._event_emitter.emit(
            f"creating-client-class.{service_id}",
            class_attributes=class_attributes,
            base_classes=bases,
        )
        key = (
            model_key,
            tuple((name, id(value)) for name, value in class_attributes.items()),
            tuple(bases),
        )
        if key not in _client_classes:
            # The attributes are kept alive with the class, so their ids stay unique.
            name = botocore.utils.get_service_module_name(service_model)
            _client_classes[key] = (type(name, tuple(bases), class_attributes), class_attributes)
        return _client_classes[key][0]


aiobotocore.session.AioClientCreator = _SharedClientCreator
"""aiobotocore's session builds its client creator by this module-level name; the subclass above
only changes anything for sessions made here (see `_SharedClientCreator`)."""


def _new_session() -> AioSession:
    """A fresh aiobotocore session, its built-in handlers copied from a template emitter.

    Registering the handlers (with aiobotocore's signature checks) is most of a session's cost;
    the handlers are module-level functions, so a copy of one registered emitter is equivalent.
    """
    global _template_emitter
    if _template_emitter is None:
        emitter = AioHierarchicalEmitter()
        AioSession(event_hooks=emitter)  # registers botocore's built-in handlers into `emitter`
        _template_emitter = emitter
    session = AioSession(event_hooks=copy.copy(_template_emitter), include_builtin_handlers=False)
    session.register_component("data_loader", _shared_loader())
    return session


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


def _full_config(session: botocore.session.Session, fingerprint: tuple | None) -> dict:
    """`session.full_config`, parsed from the files once per config fingerprint.

    Each session gets its own deep copy (the audit name and discovered profiles are written into
    it), so sessions stay independent; a 40-profile listing then parses the files once instead
    of once per profile (measured: ~7 % of the CPU of a cold 40-profile listing). The fingerprint
    holds the files' modification times and sizes, so an edited file is parsed again.
    """
    if fingerprint is None:
        session._config = profiles_mod.load_full_config()  # botocore's, or lenient (issue 13)
        return session.full_config
    parsed = context.current().parsed_configs
    cached = parsed.get(fingerprint)
    if cached is None:
        # botocore's own parse, or (a file it rejects or cannot read) the lenient one, where a
        # broken section costs only its profile (`profiles.read_config`)
        cached = profiles_mod.load_full_config()
        parsed.clear()  # only the current fingerprint is worth keeping
        parsed[fingerprint] = cached
    session._config = copy.deepcopy(cached)  # what `full_config` would have parsed
    return session.full_config


def _prepare(
    session: botocore.session.Session, profile: str | None, fingerprint: tuple | None = None
) -> str | None:
    """Load the config into `session`, inject discovered profiles, select `profile`."""
    try:
        config = _full_config(session, fingerprint)
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
        session = _new_session()
        # Also the config of botocore's own STS/SSO clients (AssumeRole, GetRoleCredentials).
        session.set_default_client_config(BASE_CONFIG)
        name = _prepare(session, profile, key[0])
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

    Credentials follow botocore's chain for the profile (keys, assume-role, SSO, credential_process,
    AWS_* variables, AWS_ENDPOINT_URL*). Retries: botocore's RETRY_MODE, MAX_ATTEMPTS attempts.
    Raises `UnknownProfileError` / `ConfigError`; AWS errors are botocore's (see `errors.explain`).
    """
    session = await get_session(profile)
    async with session.create_client(
        service, region_name=region, config=config, endpoint_url=endpoint_url
    ) as c:
        yield c


def resolved_endpoint(service: str, profile: str | None, region: str | None) -> str:
    """The endpoint URL botocore would call for `service` (e.g. the SSM endpoint for the plugin).

    Honours AWS_ENDPOINT_URL(_<SERVICE>), a profile's `endpoint_url` and `services` section; on
    real AWS it is `https://ssm.<region>.amazonaws.com`. No credentials are resolved or used.
    """
    key = (config_fingerprint(), service, profile, region)
    endpoints = context.current().endpoints
    if key not in endpoints:
        session = botocore.session.Session()
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
    """Drop cached sessions and names (after `aws sso login`, or a settings change)."""
    context.current().forget_sessions()
