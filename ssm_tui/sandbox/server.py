"""Build the sandbox (world, moto state, files) and serve it on one loopback port until a signal.

One port serves everything (uvicorn): AWS APIs through moto (a2wsgi), the SSO portal, the admin
endpoint and the data-channel websocket. On SIGINT/SIGTERM the data channel's shutdown hook runs
first (it owns the shells), every open session is terminated, then uvicorn stops; the process
returns 0 and leaves no child behind.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from a2wsgi.wsgi_typing import WSGIApp
    from starlette.types import ASGIApp

READY_PREFIX = "SSM_TUI_SANDBOX_READY "


@dataclass(slots=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 0
    env_file: Path | None = None
    directory: Path | None = None
    instances: int = 40
    seed: int = 42
    latency_ms: int = 0
    throttle: float = 0.0
    broken_profile: str | None = None
    drop_sessions_after: float | None = None
    socket_lifetime: float | None = None
    data_channel_outage: float | None = None
    data_channel_latency: int = 0
    sso_cache: Path | None = None
    """Where botocore looks for SSO tokens (default ~/.aws/sso/cache of this process's HOME)."""
    exit_with_stdin: bool = False
    """Stop at EOF on stdin: a parent that dies (even by SIGKILL) leaves no sandbox behind."""
    kms: bool = False
    """KMS-encrypted sessions from the start (`sandbox/kms.py`; also switchable at run time)."""
    audit_history: int = 0
    """Days of past sessions to seed for the audit views (`sandbox/audit_seed.py`; 0: none)."""
    sso_token: str = "valid"
    """The seeded sso-session's login: valid, expired or absent (`aws sso login` needed)."""


def run(options: Options) -> int:
    started = time.perf_counter()
    # Must be set before moto.ec2 loads: the sandbox serves its fleet itself, AMIs are not needed.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    sock = socket.socket(socket.AF_INET6 if ":" in options.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out as two writes (head, body): without TCP_NODELAY, Nagle + the client's
    # delayed ACK add ~40 ms to every call. Accepted sockets inherit it from the listener.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((options.host, options.port))
    sock.listen(128)
    port = sock.getsockname()[1]
    host = f"[{options.host}]" if ":" in options.host else options.host
    endpoint = f"http://{host}:{port}"

    temporary = options.directory is None
    directory = (
        Path(tempfile.mkdtemp(prefix="ssm-tui-sandbox-")) if temporary else options.directory
    )
    assert directory is not None
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    env_file = (options.env_file or directory / "sandbox.env").resolve()
    try:
        return asyncio.run(_serve(options, sock, endpoint, directory, env_file, started))
    finally:
        sock.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)


async def _serve(
    options: Options,
    sock: socket.socket,
    endpoint: str,
    directory: Path,
    env_file: Path,
    started: float,
) -> int:
    import uvicorn
    from a2wsgi import WSGIMiddleware
    from moto.server import DomainDispatcherApplication, create_backend_app

    from ssm_tui.sandbox import ssm_api
    from ssm_tui.sandbox.app import SandboxApp
    from ssm_tui.sandbox.context import Faults, SandboxContext
    from ssm_tui.sandbox.files import write_files
    from ssm_tui.sandbox.identity import install_persistent_credentials
    from ssm_tui.sandbox.seed import seed_moto
    from ssm_tui.sandbox.sessions import SessionRegistry
    from ssm_tui.sandbox.sso_oidc import DeviceAuthority
    from ssm_tui.sandbox.sso_portal import SsoPortal, cache_file_name
    from ssm_tui.sandbox.world import ACCOUNTS, PROFILES, build_world

    world = build_world(options.seed, options.instances)
    credentials = seed_moto()
    # AssumeRole keys this seed issued before a restart (aws-cli caches them) stay valid.
    install_persistent_credentials(options.seed)
    registry = SessionRegistry()
    faults = Faults()
    faults.update(
        {
            "latency_ms": options.latency_ms,
            "throttle": options.throttle,
            "broken_profile": options.broken_profile,
            "drop_sessions_after": options.drop_sessions_after,
            "socket_lifetime": options.socket_lifetime,
            "data_channel_outage": options.data_channel_outage,
            "data_channel_latency": options.data_channel_latency,
        }
    )
    env = write_files(directory, env_file, endpoint, credentials)
    from ssm_tui.sandbox import windows_password

    windows_key = windows_password.install(directory)  # the Windows instances' key pair
    portal = SsoPortal(seeded=options.sso_token)
    sso_cache = options.sso_cache or Path.home() / ".aws" / "sso" / "cache"
    token_dirs = [directory / "sso-cache", sso_cache]
    token_paths = [portal.write_token(folder) for folder in token_dirs]
    oidc = DeviceAuthority(portal, endpoint)
    stream_base = endpoint.replace("http://", "ws://", 1)
    ssm_api.install(world, registry, stream_base, directory / "hosts")
    from ssm_tui.sandbox import run_command, sshd

    commands = run_command.install(world, directory / "agent", asyncio.get_running_loop())
    sshd.install(world, directory / "hosts")
    if options.kms:
        from ssm_tui.sandbox import kms

        kms.set_enabled(True)

    if options.audit_history:
        from ssm_tui.sandbox.audit_seed import seed_history

        seed_history(world, registry, options.audit_history)

    from ssm_tui.sandbox.awsproxy import AwsProxy

    aws_proxy = await AwsProxy(sock.getsockname()[:2], directory).start(options.host)
    if options.kms:
        await aws_proxy.ready()  # the official plugin's KMS calls need the CA file at once
    info: dict[str, Any] = {
        "endpoint": endpoint,
        "aws_proxy": aws_proxy.url,
        "aws_ca_bundle": str(aws_proxy.ca_path),
        "env_file": str(env_file),
        "directory": str(directory),
        "profiles": [profile.name for profile in PROFILES],
        "accounts": dict(ACCOUNTS),
        "instances": len(world.instances),
        "seed": options.seed,
        "started_at": world.now.isoformat(),
        "pid": os.getpid(),
        "env": env,
        "sso_token_files": [str(path) for path in token_paths if path is not None],
        "sso_token": options.sso_token,
        "windows_key_pair": {"name": windows_password.KEY_NAME, "private_key": str(windows_key)},
    }
    # moto's dispatcher and a2wsgi spell the same WSGI/ASGI calls with different types (plain
    # dicts against TypedDicts), so the two boundaries are asserted rather than inferred.
    moto_wsgi = cast("WSGIApp", DomainDispatcherApplication(create_backend_app))
    moto_app = cast("ASGIApp", WSGIMiddleware(moto_wsgi, workers=16))
    app = SandboxApp(
        moto=moto_app,
        world=world,
        registry=registry,
        faults=faults,
        portal=portal,
        oidc=oidc,
        base_access_key=credentials.access_key_id,
        info=info,
    )
    app.context = SandboxContext(
        registry=registry, faults=faults, loop=asyncio.get_running_loop(), directory=str(directory)
    )
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    server = _Server(config, registry)
    # Our own handlers first: uvicorn restores them and re-raises the signal after its shutdown,
    # which then lands here (a no-op) instead of killing the process with the default action.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return await _serve_until_stopped(server, sock, info, directory, options, started)
    finally:
        aws_proxy.close()
        commands.shutdown()
        await sshd.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # The token is the sandbox's: it must not outlive it in the user's SSO cache (nor one a
        # device login against it wrote there).
        for folder in token_dirs:
            portal.remove_token(folder / cache_file_name())
            oidc.remove_registrations(folder)


async def _serve_until_stopped(
    server: Any,
    sock: socket.socket,
    info: dict[str, Any],
    directory: Path,
    options: Options,
    started: float,
) -> int:
    from ssm_tui.sandbox import ssm_api

    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        await task
        return 1
    info["startup_seconds"] = round(time.perf_counter() - started, 3)
    _announce(info, directory)
    threading.Thread(target=_finish_ssm, args=(ssm_api.MOTO_SEEDED,), daemon=True).start()
    if options.exit_with_stdin:
        threading.Thread(target=_stop_at_stdin_eof, daemon=True).start()
    await task
    return 0


def _stop_at_stdin_eof() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _finish_ssm(ready: threading.Event) -> None:
    """Import, patch and seed moto's SSM in the background (see `seed_ssm_documents`)."""
    from ssm_tui.sandbox import ssm_api
    from ssm_tui.sandbox.seed import seed_ssm_documents

    try:
        ssm_api.install_into_moto()
        seed_ssm_documents()
        from ssm_tui.sandbox import windows_password
        from ssm_tui.sandbox.world import ACCOUNTS, REGIONS

        windows_password.import_into_moto(list(ACCOUNTS.values()), list(REGIONS))
        from ssm_tui.sandbox import kms

        kms.documents_seeded()
    except Exception:  # the SSM calls then fail visibly; the reason belongs in the log
        traceback.print_exc(file=sys.stderr)
    finally:
        ready.set()


class _Server:
    """uvicorn.Server whose shutdown first stops the data channel and ends every session."""

    def __new__(cls, config: Any, registry: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                await _stop_data_channel(registry)
                await super().shutdown(sockets=sockets)

        return Server(config)


async def _stop_data_channel(registry: Any) -> None:
    module = sys.modules.get("ssm_tui.sandbox.datachannel")
    hook = getattr(module, "shutdown", None) if module is not None else None
    if hook is not None:
        try:
            result = hook()
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, timeout=5)
        except Exception as error:  # a failing hook must not keep the sandbox alive
            print(f"sandbox: data channel shutdown failed: {error!r}", file=sys.stderr)
    for session in registry.all():
        registry.terminate(session.session_id)


def _announce(info: dict[str, Any], directory: Path) -> None:
    env_file = info["env_file"]
    lines = [
        f"ssm-tui sandbox on {info['endpoint']} (pid {info['pid']}, "
        f"started in {info['startup_seconds']:.2f} s)",
        "  AWS APIs   sts ec2 ssm logs s3 organizations iam (moto) + Session Manager, SSO portal",
        "             + SSO OIDC device login (verification page /device)",
        f"  websocket  {info['endpoint'].replace('http', 'ws', 1)}/v1/data-channel/<SessionId>",
        f"  admin      GET/POST {info['endpoint']}/_sandbox/faults, /_sandbox/kms, "
        "GET /_sandbox/info",
        f"  files      {directory} (config, credentials)",
        f"  aws proxy  HTTPS_PROXY={info['aws_proxy']} AWS_CA_BUNDLE={info['aws_ca_bundle']}",
        "             (for SDKs that ignore AWS_ENDPOINT_URL, e.g. session-manager-plugin's KMS)",
        f"  fleet      {info['instances']} instances, seed {info['seed']}, accounts "
        + ", ".join(f"{name} {number}" for name, number in info["accounts"].items()),
        f"  profiles   {', '.join(info['profiles'])}",
        "",
        "Use it from any shell:",
        f"  set -a; . {env_file}; set +a",
        "  aws ssm describe-instance-information --profile prod",
        "  ssm-tui            # the app, on the sandbox's profiles",
        "Stop with Ctrl-C.",
    ]
    print("\n".join(lines), flush=True)
    print(READY_PREFIX + json.dumps(info), flush=True)
