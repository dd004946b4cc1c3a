"""Run the sandbox as a child process: for `ssm-tui --demo`, the tests and the benchmarks.

The app must never import the sandbox (moto and friends stay out of its process), so this module
only spawns `python -m ssm_tui.sandbox`, reads the one machine-readable ready line it prints
(`SSM_TUI_SANDBOX_READY {json}`), and talks to its admin endpoint over HTTP to flip faults.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any

READY_PREFIX = "SSM_TUI_SANDBOX_READY "
SSO_CACHE_SUBDIR = "sso-cache"


class SandboxError(RuntimeError):
    """The sandbox did not start (its output is in the message) or its admin call failed."""


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """KEY=VALUE lines as the sandbox writes them (values shell-quoted when needed)."""
    variables: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        parts = shlex.split(raw)
        variables[key.strip()] = parts[0] if parts else ""
    return variables


def without_aws(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the caller's AWS_* variables (their profile, keys, region, endpoint)."""
    return {k: v for k, v in environ.items() if not k.startswith("AWS_")}


class SandboxProcess:
    """A running `python -m ssm_tui.sandbox --port 0 ...` child and what it serves."""

    def __init__(
        self,
        instances: int | None = None,
        seed: int | None = None,
        latency_ms: int | None = None,
        throttle: float | None = None,
        broken_profile: str | None = None,
        drop_sessions_after: float | None = None,
        directory: str | os.PathLike[str] | None = None,
        *,
        env: dict[str, str] | None = None,
        sso_cache: str | os.PathLike[str] | None = None,
        sso_token: str | None = None,
        audit_history: int | None = None,
    ) -> None:
        self.instances = instances
        self.seed = seed
        self.latency_ms = latency_ms
        self.throttle = throttle
        self.broken_profile = broken_profile
        self.drop_sessions_after = drop_sessions_after
        self.audit_history = audit_history
        """Days of past sessions seeded at start (`--audit-history`); None: none."""
        self._own_directory = directory is None
        self.directory: Path | None = Path(directory) if directory is not None else None
        self._child_env = env
        self._sso_cache = Path(sso_cache) if sso_cache is not None else None
        self.sso_token = sso_token
        """The seeded SSO login: valid (None: the default), expired or absent."""
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.env: dict[str, str] = {}
        self.env_file: Path | None = None
        self.profiles: list[str] = []
        self.accounts: dict[str, str] = {}
        self.info: dict[str, Any] = {}
        self._output: deque[str] = deque(maxlen=200)
        self._drain: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def command(self) -> list[str]:
        assert self.directory is not None
        argv = [
            sys.executable,
            "-m",
            "ssm_tui.sandbox",
            "--port",
            "0",
            "--dir",
            str(self.directory),
            "--exit-with-stdin",  # the pipe closes when this process dies: no orphan sandbox
        ]
        options = {
            "--instances": self.instances,
            "--seed": self.seed,
            "--latency": self.latency_ms,
            "--throttle": self.throttle,
            "--broken-profile": self.broken_profile,
            "--drop-sessions-after": self.drop_sessions_after,
            "--sso-token": self.sso_token,
            "--audit-history": self.audit_history,
            # Never the real ~/.aws: callers put the token where they need it (install_sso_token).
            "--sso-cache": self._sso_cache or self.directory / "home" / ".aws" / "sso" / "cache",
        }
        for flag, value in options.items():
            if value is not None:
                argv += [flag, str(value)]
        return argv

    def start(self, timeout: float = 60) -> SandboxProcess:
        """Spawn the sandbox and block until its ready line (SandboxError on exit or timeout)."""
        if self.process is not None:
            raise SandboxError("sandbox already started")
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="ssm-tui-sandbox-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,  # never written; its EOF tells the sandbox to stop
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self._child_env if self._child_env is not None else without_aws(os.environ),
            start_new_session=True,  # a Ctrl-C in the app's terminal must not hit the sandbox
        )
        ready = threading.Event()
        self._drain = threading.Thread(
            target=self._read_output, args=(ready,), name="sandbox-output", daemon=True
        )
        self._drain.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self._output)
                why = "exited" if self.process.poll() is not None else f"not ready in {timeout} s"
                self.stop()
                raise SandboxError(f"sandbox {why}:\n{output}")
        return self

    def _read_output(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if line.startswith(READY_PREFIX) and not ready.is_set():
                self._on_ready(json.loads(line[len(READY_PREFIX) :]))
                ready.set()
            else:
                self._output.append(line)

    def _on_ready(self, info: dict[str, Any]) -> None:
        self.info = info
        self.endpoint = info["endpoint"]
        self.env_file = Path(info["env_file"])
        self.env = read_env_file(self.env_file)
        self.profiles = list(info["profiles"])
        self.accounts = dict(info["accounts"])

    @property
    def output(self) -> str:
        """What the sandbox printed (its banner and any log lines), for error messages."""
        return "\n".join(self._output)

    def stop(self, timeout: float = 10) -> int | None:
        """Terminate the sandbox (SIGTERM, then SIGKILL) and wait; remove an own temp folder."""
        process, self.process = self.process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            code = process.returncode
            if self._drain is not None:
                self._drain.join(timeout=2)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        return code

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> SandboxProcess:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers --------------------------------------------------------------------------------

    def apply_environment(self, environ: MutableMapping[str, str]) -> None:
        """Point `environ` at the sandbox: drop the caller's AWS_* first, then set the sandbox's.

        A caller's `AWS_PROFILE=work` would otherwise name a profile the sandbox's config does not
        have, and their AWS_ACCESS_KEY_ID would outrank the sandbox's credentials file.
        """
        for name in [name for name in environ if name.startswith("AWS_")]:
            del environ[name]
        environ.update(self.env)

    def install_sso_token(self, home: str | os.PathLike[str] | None = None) -> Path:
        """Copy the sandbox's SSO token into `<home>/.aws/sso/cache` (default: $HOME).

        botocore reads SSO tokens only from ~/.aws/sso/cache, so a process with another HOME
        (a test's temporary one) needs the file there to resolve the `sso-dev` profile.
        """
        if self.directory is None:
            raise SandboxError("sandbox not started")
        source_dir = self.directory / SSO_CACHE_SUBDIR
        target_dir = Path(home if home is not None else Path.home()) / ".aws" / "sso" / "cache"
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir
        for source in source_dir.glob("*.json"):
            target = target_dir / source.name
            shutil.copyfile(source, target)
            target.chmod(0o600)
        return target

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change faults at run time: latency_ms, throttle, broken_profile, drop_sessions_after."""
        return self._admin("POST", "/_sandbox/faults", changes)

    def seed_audit_history(self, days: int = 30) -> int:
        """Seed `days` of past sessions (people, accounts, `sudo` in transcripts) into the running
        sandbox (`sandbox/audit_seed.py`); the number of sessions made. `ssm-tui --demo` calls
        it after its first frame: measured 0.8 s of the sandbox's start-up (load ~14), kept off
        the demo's start."""
        return int(self._admin("POST", "/_sandbox/audit-history", {"days": days})["sessions"])

    def reset_faults(self) -> dict[str, Any]:
        return self._admin("POST", "/_sandbox/faults/reset", {})

    def sso_oidc(self, **changes: Any) -> dict[str, Any]:
        """The OIDC device flow's timing (device_code_ttl, interval, token_ttl; reset=True)."""
        return self._admin("POST", "/_sandbox/sso", changes)

    def faults(self) -> dict[str, Any]:
        return self._admin("GET", "/_sandbox/faults", None)

    def _admin(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        if not self.endpoint:
            raise SandboxError("sandbox not started")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.endpoint + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        # Loopback only: never go through a proxy from the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SandboxError(
                f"{method} {path}: {error.read().decode(errors='replace')}"
            ) from None
