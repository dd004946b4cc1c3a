"""Record real programs' terminal output into JSON captures for the emulator tests.

Run once by hand where vim, less and top exist (``.venv/bin/python tests/term/captures/record.py``);
the captures are committed as test data because CI machines may lack the programs. Each capture
is a list of steps: the keys sent, then every byte the program wrote until it went quiet.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from ssm_tui.term.pty import PtyProcess  # noqa: E402

COLS, ROWS = 80, 24
TEXT = "".join(f"line {i:03d} of the sample file\n" for i in range(1, 101))


async def record(name: str, argv: list[str], steps: list[str], cwd: str) -> None:
    out = bytearray()
    last = [time.monotonic()]

    def on_data(data: bytes) -> None:
        out.extend(data)
        last[0] = time.monotonic()

    env = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": cwd, "LESSHISTFILE": "-", "LESS": ""}
    proc = PtyProcess(argv, env, COLS, ROWS, cwd=cwd, on_data=on_data)
    await proc.start()
    recorded = []
    for keys in [""] + steps:
        proc.write(keys.encode())
        start = time.monotonic()
        await asyncio.sleep(0.2)
        while time.monotonic() - last[0] < 0.5 and time.monotonic() - start < 5:
            await asyncio.sleep(0.05)
        recorded.append({"send": keys, "output": base64.b64encode(bytes(out)).decode()})
        out.clear()
    await proc.terminate()
    capture = {"argv": argv, "cols": COLS, "rows": ROWS, "steps": recorded}
    (HERE / f"{name}.json").write_text(json.dumps(capture, indent=1) + "\n")
    print(name, [len(base64.b64decode(s["output"])) for s in recorded])


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "sample.txt").write_text(TEXT)
        for n in ("alpha", "beta", "gamma"):
            Path(tmp, n).mkdir()
        Path(tmp, "run.sh").write_text("#!/bin/sh\n")
        os.chmod(Path(tmp, "run.sh"), 0o755)
        shell = ["bash", "--noprofile", "--norc"]
        prompt = "PS1='$ '; clear\r"
        await record(
            "vim",
            shell,
            [prompt, "echo before vim\r", "vim -u NONE -N -i NONE -n sample.txt\r", "G", ":q!\r"],
            tmp,
        )
        await record(
            "less",
            shell,
            [prompt, "echo before less\r", "less sample.txt\r", " ", "q"],
            tmp,
        )
        await record("top", shell, [prompt, "echo before top\r", "top -d 5\r", "q"], tmp)
        await record(
            "ls",
            shell,
            [prompt, "ls --color=always -F\r", "seq 1 60\r"],
            tmp,
        )


if __name__ == "__main__":
    asyncio.run(main())
