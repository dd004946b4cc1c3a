"""A real SSH server per Linux (and macOS) instance, reached on the instance's port 22.

The data channel's port sessions dial `127.0.0.1:22` for `AWS-StartSSHSession` (and for port
forwarding to 22); `route()` turns that into this instance's own asyncssh server, started on a
free loopback port the first time it is needed (a fleet of forty sshds nobody uses would only
cost start-up time). What the server accepts is what an EC2 instance with EC2 Instance Connect
accepts: public keys pushed with SendSSHPublicKey for this OS user in the last 60 s
(`instance_connect.KEYS`), plus the keys in the instance's `~/.ssh/authorized_keys` (how hybrid
`mi-` nodes are reached). No passwords. The OS users that exist are the platform's default one
(ec2-user, ubuntu, admin, pi) and ssm-user.

Shells and commands are the instance's shell (`sandbox/shell.py`: bash in the instance's home,
a clean environment, a pty when the client asks for one); `sftp` and `scp` (both protocols)
are asyncssh's, with relative paths starting in the instance's home as sshd's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from ssm_tui.sandbox import instance_connect, rdp
from ssm_tui.sandbox.sessions import InstanceView
from ssm_tui.sandbox.shell import (
    ExitStatus,
    PtyShell,
    session_process_groups,
    shell_environment,
)
from ssm_tui.sandbox.world import Instance, World

log = logging.getLogger(__name__)

SSH_PORT = 22
LOGIN_SHELL = shutil.which("bash") or "/bin/bash"
"""sshd runs the user's login shell (bash on the AMIs we stand in for), not the agent's `sh`."""

_DEFAULT_USERS = {
    "Amazon Linux": "ec2-user",
    "Ubuntu": "ubuntu",
    "Debian GNU/Linux": "admin",
    "Raspbian GNU/Linux": "pi",
    "macOS": "ec2-user",
}

_WORLD: World | None = None
_HOSTS: Path | None = None
_SERVERS: dict[str, Any] = {}
_STARTING: dict[str, asyncio.Lock] = {}


def install(world: World, hosts_dir: Path) -> None:
    global _WORLD, _HOSTS
    _WORLD, _HOSTS = world, hosts_dir
    instance_connect.install(world)


def default_user(instance: Instance) -> str:
    return _DEFAULT_USERS.get(instance.platform_name, "ec2-user")


def os_users(instance: Instance) -> set[str]:
    return {default_user(instance), "ssm-user"}


def has_sshd(instance: Instance) -> bool:
    return instance.platform_type in ("Linux", "MacOS") and instance.ping_status == "Online"


async def route(session: Any, host: str, port: int) -> tuple[str, int]:
    """Where a port session to (host, port) on the session's instance really connects."""
    if port == rdp.RDP_PORT and _WORLD is not None and session is not None:
        windows = _WORLD.by_id.get(getattr(session, "target", ""))
        routed = await rdp.route(windows, host, port)  # a Windows instance's RDP greeting
        if routed is not None:
            return routed
    if port != SSH_PORT or _WORLD is None or session is None:
        return host, port
    instance = _WORLD.by_id.get(getattr(session, "target", ""))
    if instance is None or not has_sshd(instance):
        return host, port
    server_port = await _server_for(instance)
    return "127.0.0.1", server_port


async def _server_for(instance: Instance) -> int:
    import asyncssh

    lock = _STARTING.setdefault(instance.instance_id, asyncio.Lock())
    async with lock:
        server = _SERVERS.get(instance.instance_id)
        if server is None:
            home = _home(instance)
            server = await asyncssh.create_server(
                lambda: _Server(instance),
                "127.0.0.1",
                0,
                server_host_keys=[_host_key(instance)],
                process_factory=lambda process: _session(instance, process),
                sftp_factory=lambda chan: _Sftp(chan, home),
                allow_scp=True,
                encoding=None,
                x11_forwarding=False,
                agent_forwarding=False,
            )
            _SERVERS[instance.instance_id] = server
        return server.sockets[0].getsockname()[1]


def _home(instance: Instance) -> Path:
    assert _HOSTS is not None
    home = _HOSTS / instance.instance_id
    home.mkdir(parents=True, exist_ok=True)
    return home


def _host_key(instance: Instance) -> Any:
    """The instance's host key, kept in its folder so it stays the same across sandbox runs."""
    import asyncssh

    path = _home(instance).parent.parent / "ssh-host-keys" / f"{instance.instance_id}.key"
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


class _Server:
    """Public-key authentication only: Instance Connect keys and authorized_keys."""

    def __new__(cls, instance: Instance) -> Any:
        import asyncssh

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return False

            def kbdint_auth_supported(self) -> bool:
                return False

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: Any) -> bool:
                if username not in os_users(instance):
                    return False
                blob = key.public_data
                return blob in instance_connect.KEYS.valid_keys(
                    instance.instance_id, username
                ) or blob in _authorized_keys(instance)

        return Server()


def _authorized_keys(instance: Instance) -> list[bytes]:
    import asyncssh

    path = _home(instance) / ".ssh" / "authorized_keys"
    try:
        keys = asyncssh.read_authorized_keys(str(path))
    except (OSError, ValueError):
        return []
    return [entry.key.public_data for entry in getattr(keys, "_ca_entries", [])] + [
        entry.key.public_data for entry in getattr(keys, "_user_entries", []) if entry.key
    ]


def _view(instance: Instance) -> InstanceView:
    return InstanceView(
        instance_id=instance.instance_id,
        name=instance.name,
        computer_name=instance.computer_name,
        platform_type=instance.platform_type,
        home=str(_home(instance)),
    )


def _environment(instance: Instance, username: str, client_env: dict[str, str]) -> dict[str, str]:
    home = _home(instance)
    env = shell_environment(_view(instance), home)
    env["USER"] = env["LOGNAME"] = username
    env["PS1"] = env["PS1"].replace("ssm-user@", f"{username}@", 1)
    for name in ("LANG", "LC_ALL", "TERM"):  # what sshd's AcceptEnv usually lets through
        if name in client_env:
            env[name] = client_env[name]
    return env


async def _session(instance: Instance, process: Any) -> None:
    """One shell or command: in a pty when the client asked for one, else over pipes."""
    username = process.get_extra_info("username") or "ssm-user"
    env = _environment(instance, username, dict(process.env or {}))
    home = _home(instance)
    command = process.command
    try:
        if process.get_terminal_type():
            env["TERM"] = process.get_terminal_type()
            code = await _pty_session(process, command, home, env)
        else:
            code = await _pipe_session(process, command, home, env)
    except Exception as exc:  # noqa: BLE001 - the client gets the failure, the server stays up
        log.warning("sshd %s: session failed: %r", instance.instance_id, exc)
        code = 255
    process.exit(code)


async def _pipe_session(process: Any, command: str | None, home: Path, env: dict[str, str]) -> int:
    argv = [LOGIN_SHELL, "--noprofile", "--norc", "-c", command] if command else [LOGIN_SHELL, "-s"]
    child = await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(home),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    child_stdin = child.stdin  # a name of its own keeps the narrowing inside copy_in

    async def copy_in() -> None:
        with contextlib.suppress(Exception):
            while data := await process.stdin.read(65536):
                child_stdin.write(data)
                await child_stdin.drain()
        with contextlib.suppress(Exception):
            child_stdin.close()

    async def copy_out(source: asyncio.StreamReader, target: Any) -> None:
        while data := await source.read(65536):
            target.write(data)
            await target.drain()

    feeder = asyncio.ensure_future(copy_in())
    try:
        await asyncio.gather(
            copy_out(child.stdout, process.stdout), copy_out(child.stderr, process.stderr)
        )
        raw = await child.wait()
    finally:
        feeder.cancel()
        if child.returncode is None:
            _kill_tree(child.pid)
            await child.wait()
    return raw if raw >= 0 else 128 - raw


async def _pty_session(process: Any, command: str | None, home: Path, env: dict[str, str]) -> int:
    import asyncssh

    width, height, *_ = process.term_size
    loop = asyncio.get_running_loop()
    done: asyncio.Future[ExitStatus] = loop.create_future()
    argv = [LOGIN_SHELL, "--noprofile", "--norc", *(["-c", command] if command else ["-i"])]

    def output(chunk: bytes) -> None:
        process.stdout.write(chunk)

    def exited(status: ExitStatus) -> None:
        if not done.done():
            done.set_result(status)

    shell = PtyShell(
        argv,
        cwd=home,
        env=env,
        on_output=output,
        on_exit=exited,
        size=(height or 24, width or 80),
    )
    shell.start()

    async def pump() -> None:
        while True:
            try:
                data = await process.stdin.read(65536)
            except asyncssh.TerminalSizeChanged as change:
                shell.resize(change.height, change.width)
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                return
            shell.write(data)

    reader = asyncio.ensure_future(pump())
    try:
        status = await done
    finally:
        reader.cancel()
        shell.kill()
    return status.as_code


def _kill_tree(pid: int) -> None:
    for group in session_process_groups(pid) | {pid}:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)


def _sftp_class() -> type:
    import asyncssh

    class Sftp(asyncssh.SFTPServer):
        """Relative paths start in the instance's home; absolute ones are the machine's."""

        def __init__(self, chan: Any, home: Path) -> None:
            super().__init__(chan)
            self._home_bytes = os.fsencode(str(home))

        def map_path(self, path: bytes) -> bytes:
            if path.startswith(b"/"):
                return path
            return os.path.join(self._home_bytes, path) if path else self._home_bytes

        def exit(self) -> None:
            # sshd's sftp-server exits 0 and sshd reports it; without an exit status, ssh
            # reports -1 and scp (SFTP mode, OpenSSH 9) fails a copy that succeeded.
            with contextlib.suppress(Exception):
                self.channel.exit(0)

    return Sftp


def _Sftp(chan: Any, home: Path) -> Any:  # noqa: N802 - a factory standing in for the class
    return _sftp_class()(chan, home)


async def shutdown() -> None:
    """Close every server (sandbox exit)."""
    servers = list(_SERVERS.values())
    _SERVERS.clear()
    for server in servers:
        server.close()
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
