"""Text from AWS made safe to show: the one place that decides which characters are escaped.

Tags, names, reasons and log lines are written by anyone with access to the account. Besides the
C0/C1 controls a terminal obeys (ESC starts a sequence), Unicode has *format* characters that
change how the text around them is shown without being seen themselves: U+202E RIGHT-TO-LEFT
OVERRIDE makes `prod-db‮gnp.exe` read as `prod-dbexe.png`, zero-width spaces make two names look
equal. Python's `str.isprintable()` is False exactly for the categories that matter (Cc control,
Cf format incl. every bidi control, Cs surrogate, Co private use, Cn unassigned, Zl/Zp line and
paragraph separators, and spaces other than ' '): those are shown as escapes (`\\u202e`), and
ordinary spaces of other scripts (NBSP, U+3000) are kept as they are.

A lone surrogate (an AWS field that came from broken UTF-16) cannot be encoded to UTF-8 at all:
`printable` escapes it, `json_line` writes it as a JSON `\\udXXX` escape, so output stays valid
UTF-8 and JSON stays parseable, with the exact value recoverable by a JSON reader.

No Textual and no Rich here: the CLIs, the services and the widgets all import it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CARET = {i: "^" + chr(i + 64) for i in range(0x20)} | {0x7F: "^?"}


def _shown(ch: str) -> bool:
    return ch.isprintable() or (ch != "\u2028" and unicodedata.category(ch) == "Zs")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: str, *, caret: bool = False) -> str:
    """`value` with every control, format (bidi) or unencodable character shown as an escape.

    `caret=True` shows C0 controls and DEL as `cat -v` does (`^[` for ESC): the fleet table's
    convention. Everything else that is not printable becomes `\\xHH`, `\\uHHHH` or `\\UHHHHHHHH`.
    """
    if value.isprintable():
        return value
    out = []
    for ch in value:
        if _shown(ch):
            out.append(ch)
        elif caret and ord(ch) in _CARET:
            out.append(_CARET[ord(ch)])
        else:
            out.append(_escape(ch))
    return "".join(out)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_line(value: Any, **kwargs: Any) -> str:
    """`json.dumps(value)` readable (non-ASCII kept) yet safe: control, bidi and surrogate
    characters inside strings are written as JSON `\\u` escapes, which any JSON reader turns
    back into the exact value, and which no terminal obeys."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    if text.isprintable():
        return text
    return "".join(ch if _shown(ch) else _json_escape(ch) for ch in text)


def strip_escapes(line: str) -> str:
    """The text a person saw: terminal escapes removed, carriage returns dropped."""
    return _CSI.sub("", line).replace("\r", "")
