"""`ssm-tui cp` without ssh: one file each way over a Session Manager shell channel.

For nodes ssh cannot reach (a hybrid `mi-` node without the user's key in its authorized_keys,
an instance with no sshd), `cp` runs the transfer through `AWS-StartInteractiveCommand` with the
same framed `sh` wrapper as `connect --command` (`remote_command.py`): the pty is put in raw mode
without echo, so bytes cross it unchanged both ways.

- download: the command is `cat -- PATH`; the framed stdout is the file, the trailer its status.
- upload: the command is `head -c SIZE </dev/tty >PATH.part`, then `mv` into place and the
  SHA-256 of what landed (sha256sum, else shasum, else openssl); the file's bytes are sent right
  after the wrapper's nonce line, so the command reads exactly them from the pty. The copy
  counts only when the instance's hash is the local one.

Linux and macOS only (the wrapper is `sh`); one regular file per copy (no `-r`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 64 * 1024
HASH = (
    '{ sha256sum -- "$d" 2>/dev/null || shasum -a 256 -- "$d" 2>/dev/null '
    '|| openssl dgst -sha256 -r "$d"; } | cut -c1-64'
)


class CopyFailed(Exception):
    """The copy did not happen (the message says why); nothing was left half-written."""


def upload_command(remote: str, name: str, size: int) -> str:
    """`sh` for the instance: read `size` bytes from the pty into `remote` (a folder: + name)."""
    return (
        f"d={shlex.quote(remote or '.')}; "
        f'if [ -d "$d" ]; then d="${{d%/}}"/{shlex.quote(name)}; fi; '
        f'head -c {size} </dev/tty >"$d.ssm-tui-part" && mv -f -- "$d.ssm-tui-part" "$d" '
        f'|| {{ rm -f -- "$d.ssm-tui-part"; exit 1; }}; {HASH}'
    )


def download_command(remote: str) -> str:
    return f"cat -- {shlex.quote(remote)}"


def _progress(total: int, label: str) -> Callable[[int], None]:
    """A progress line on a terminal (stderr), nothing otherwise."""
    if not sys.stderr.isatty():
        return lambda _done: None
    shown = [-1]

    def show(done: int) -> None:
        percent = 100 * done // total if total else 100
        if percent != shown[0]:
            shown[0] = percent
            sys.stderr.write(f"\r{label}  {done / 1e6:8.1f} MB  {percent:3d}%")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def upload(instance: Any, local: Path, remote: str) -> None:
    """Copy the local file `local` to `remote` on the instance (CopyFailed when it did not)."""
    if not local.is_file():
        raise CopyFailed(f"{local}: not a regular file (over the shell channel, one file at once)")
    size = local.stat().st_size
    digest = hashlib.sha256()
    progress = _progress(size, local.name)

    async def send(client: Any) -> None:
        sent = 0
        with local.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                await client.send_input(chunk)
                sent += len(chunk)
                progress(sent)
        progress(size)

    out = bytearray()
    errors = bytearray()
    status = _run(instance, upload_command(remote, local.name, size), out.extend, errors, send)
    if status != 0:
        raise CopyFailed(_said(errors) or f"the copy failed on the instance (status {status})")
    if out.decode("ascii", "replace").strip() != digest.hexdigest():
        raise CopyFailed("the file on the instance does not match (SHA-256 differs)")


def download(instance: Any, remote: str, local: Path) -> None:
    """Copy `remote` from the instance to `local` (a folder: + the remote file's name)."""
    if local.is_dir():
        local = local / (Path(remote).name or "download")
    part = local.with_name(local.name + ".ssm-tui-part")
    errors = bytearray()
    received = [0]
    progress = _progress(0, Path(remote).name)
    try:
        with part.open("wb") as handle:

            def write(data: bytes) -> None:
                handle.write(data)
                received[0] += len(data)
                progress(received[0])

            status = _run(instance, download_command(remote), write, errors, None)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise CopyFailed(f"cannot write {local}: {exc.strerror or exc}") from None
    if status != 0:
        part.unlink(missing_ok=True)
        raise CopyFailed(_said(errors) or f"the copy failed on the instance (status {status})")
    os.replace(part, local)


def _said(errors: bytearray) -> str:
    from ssm_tui.commands.list_cmd import printable

    return printable(errors.decode("utf-8", "replace").strip())[-500:]


def _run(
    instance: Any,
    command: str,
    stdout: Callable[[bytes], Any],
    stderr: bytearray,
    send: Callable[[Any], Any] | None,
) -> int:
    """One wrapper session for `command`; its status (CopyFailed when none came)."""
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.aws.sessions import start_session, terminate_session
    from ssm_tui.commands import remote_command

    async def go() -> int:
        started = await start_session(
            instance.profile or None,
            instance.region or None,
            instance.instance_id,
            remote_command.INTERACTIVE_DOCUMENT,
            {"command": [remote_command.wrapper(command)]},
            "ssm-tui cp",
        )
        try:
            outcome = await remote_command.run(
                started, stdout=lambda data: stdout(data), stderr=stderr.extend, upload=send
            )
        finally:
            try:
                await terminate_session(
                    started.profile or None,
                    started.region or None,
                    started.session_id,
                    started.endpoint_url,
                )
            except Exception:  # noqa: BLE001, S110 - the copy's own outcome matters more
                pass
        if outcome.status is None:
            raise CopyFailed(outcome.message or "no exit status came back from the instance")
        return outcome.status

    try:
        return asyncio.run(go())
    except SsmTuiError as exc:
        raise CopyFailed(exc.message) from None
