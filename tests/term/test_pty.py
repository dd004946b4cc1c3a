"""PtyProcess against real children in real ptys."""

from __future__ import annotations

import asyncio
import os
import signal

from ssm_tui.term.pty import PtyProcess


class Output:
    """Collects a child's output; ``until`` waits for a piece of text."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._grew = asyncio.Event()

    def __call__(self, chunk: bytes) -> None:
        self.data.extend(chunk)
        self._grew.set()

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    async def until(self, needle: str, timeout: float = 10) -> None:
        async def wait() -> None:
            while needle not in self.text:
                self._grew.clear()
                await self._grew.wait()

        await asyncio.wait_for(wait(), timeout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_size_is_set_before_the_child_starts() -> None:
    out = Output()
    proc = PtyProcess(["stty", "size"], cols=123, rows=45, on_data=out)
    await proc.start()
    assert await proc.wait() == 0
    assert out.text.strip() == "45 123"


async def test_resize_reaches_the_child_and_env_is_added() -> None:
    out = Output()
    proc = PtyProcess(
        ["bash", "--noprofile", "--norc"], {"PS1": "$ ", "MY_VAR": "added"}, 80, 24, on_data=out
    )
    await proc.start()
    proc.resize(100, 30)
    proc.write(b"tty; stty size; echo $MY_VAR $TERM\r")
    await out.until("added xterm-256color")
    assert "30 100" in out.text
    assert "/dev/pts/" in out.text  # the pty is the child's controlling terminal
    proc.write(b"exit 3\r")
    assert await proc.wait() == 3
    assert proc.exit_status == 3 and not proc.running


async def test_exit_delivers_all_output_then_calls_on_exit_once() -> None:
    out = Output()
    statuses: list[int] = []
    seen_at_exit: list[str] = []

    def on_exit(status: int) -> None:
        statuses.append(status)
        seen_at_exit.append(out.text)

    proc = PtyProcess(
        ["sh", "-c", "printf 'x%.0s' $(seq 1 20000); echo done; exit 7"],
        on_data=out,
        on_exit=on_exit,
    )
    await proc.start()
    assert await proc.wait() == 7
    assert statuses == [7]
    assert seen_at_exit[0].count("x") == 20000 and "done" in seen_at_exit[0]
    assert proc.fd is None  # the pty is closed


async def test_ctrl_c_in_the_byte_stream_interrupts_the_foreground_process() -> None:
    proc = PtyProcess(["sleep", "100"], on_data=Output())
    await proc.start()
    await asyncio.sleep(0.2)  # let sleep start (the tty discards input written before)
    proc.write(b"\x03")
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGINT


async def test_ctrl_c_works_even_when_the_app_was_started_with_sigint_ignored() -> None:
    """An app started from a background job or nohup inherits SIGINT ignored; its panes must not."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = PtyProcess(["sleep", "100"], on_data=Output())
        await proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    await asyncio.sleep(0.2)
    proc.write(b"\x03")
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGINT


async def test_terminate_ends_the_whole_process_group() -> None:
    out = Output()
    # The shell ignores SIGHUP and SIGTERM, so only the final SIGKILL ends it.
    script = "trap '' HUP TERM; sleep 1000 & echo child=$!; wait"
    proc = PtyProcess(["sh", "-c", script], on_data=out)
    await proc.start()
    await out.until("child=")
    child = int(out.text.split("child=")[1].split()[0])
    assert alive(child) and proc.running
    status = await proc.terminate(grace=0.5)
    assert status == -signal.SIGKILL
    for _ in range(100):  # the orphan is reaped by init shortly after SIGKILL
        if not alive(child):
            break
        await asyncio.sleep(0.05)
    assert not alive(child)
    assert not alive(proc.pid or 0)
    # Terminating twice is harmless.
    assert await proc.terminate() == -signal.SIGKILL


async def test_terminate_hangs_up_a_shell_quickly() -> None:
    proc = PtyProcess(["bash", "--noprofile", "--norc"], on_data=Output())
    await proc.start()
    assert await proc.terminate(grace=30) == -signal.SIGHUP


async def test_paused_reading_holds_output_back() -> None:
    out = Output()
    proc = PtyProcess(["sh", "-c", "read x; echo got-$x; read y"], on_data=out)
    await proc.start()
    proc.pause_reading()
    proc.write(b"one\r")
    await asyncio.sleep(0.3)
    assert "got-one" not in out.text
    proc.resume_reading()
    await out.until("got-one")
    await proc.terminate()


async def test_a_big_write_is_queued_not_blocking() -> None:
    out = Output()
    script = "stty raw -echo; echo ready; sleep 0.5; head -c 300000 | wc -c"
    proc = PtyProcess(["sh", "-c", script], on_data=out)
    await proc.start()
    await out.until("ready")
    proc.write(b"x" * 300_000)  # far more than the pty's input queue holds
    assert proc.pending_input > 0  # returned at once; the rest waits for the reader
    await out.until("300000")
    assert proc.pending_input == 0
    await proc.wait()


def _status_masks(text: str) -> dict[str, int]:
    """SigBlk/SigIgn of a /proc/<pid>/status as integers (bit N-1 is signal N)."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {name: int(fields[name].strip(), 16) for name in ("SigBlk", "SigIgn")}


async def test_the_program_gets_default_dispositions_and_an_empty_mask_from_a_thread() -> None:
    """Started from a thread that blocks and ignores signals (the app has several threads), the
    program itself (not a wrapper: it execs) sees none of that, and owns the pty."""

    def start_blocked() -> tuple[PtyProcess, Output]:
        async def run() -> tuple[PtyProcess, Output]:
            out = Output()
            # the status is read by the program itself once the shell has exec'd it: a shell's
            # status read through a child of it was flaky under load (a nearly full blocked
            # mask, most likely the shell caught mid-fork)
            proc = PtyProcess(
                ["sh", "-c", "ps -o tty= -p $$; echo pid=$$; exec cat /proc/self/status"],
                on_data=out,
            )
            await proc.start()
            await proc.wait()
            return proc, out

        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGUSR1])
        return asyncio.run(run())

    previous = signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    try:
        proc, out = await asyncio.to_thread(start_blocked)
    finally:
        signal.signal(signal.SIGQUIT, previous)
    assert proc.exit_status == 0, out.text
    masks = _status_masks(out.text)
    assert masks["SigBlk"] == 0, out.text
    assert masks["SigIgn"] == 0, out.text
    assert f"pid={proc.pid}" in out.text  # the pid we signal is the program's own
    assert "pts/" in out.text  # its controlling terminal is the pty


async def test_a_missing_program_raises_before_anything_starts() -> None:
    proc = PtyProcess(["no-such-program-ssm-tui"], on_data=Output())
    try:
        await proc.start()
    except FileNotFoundError as exc:
        assert exc.filename == "no-such-program-ssm-tui"
    else:
        raise AssertionError("started a program that does not exist")
    assert proc.pid is None and proc.fd is None
