"""Key names (as Textual reports them: ``"ctrl+c"``, ``"shift+up"``, ``"alt+x"``) to the bytes an
xterm would send. Lives in ``term/`` (no Textual import) so the table is testable on its own.
"""

from __future__ import annotations

_CSI = b"\x1b["
_SS3 = b"\x1bO"

_CURSOR = {"up": b"A", "down": b"B", "right": b"C", "left": b"D", "home": b"H", "end": b"F"}
_TILDE = {"insert": 2, "delete": 3, "pageup": 5, "pagedown": 6, "page_up": 5, "page_down": 6}
_FKEYS_SS3 = {"f1": b"P", "f2": b"Q", "f3": b"R", "f4": b"S"}
_FKEYS_TILDE = {
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
_SIMPLE = {
    "enter": b"\r",
    "tab": b"\t",
    "escape": b"\x1b",
    "backspace": b"\x7f",
    "space": b" ",
}
_CTRL_NAMED = {
    "at": 0x00,
    "space": 0x00,
    "left_square_bracket": 0x1B,
    "backslash": 0x1C,
    "right_square_bracket": 0x1D,
    "circumflex_accent": 0x1E,
    "underscore": 0x1F,
    "minus": 0x1F,
    "question_mark": 0x7F,
    "backspace": 0x08,
    "enter": 0x0D,
    "tab": 0x09,
    "escape": 0x1B,
}
_MOD_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4}


def _modifier_param(mods: set[str]) -> int:
    return 1 + sum(_MOD_BITS.get(m, 0) for m in mods)


def encode_key(key: str, character: str | None = None, app_cursor: bool = False) -> bytes | None:
    """Bytes for one key press, or ``None`` when the key has no terminal encoding.

    ``app_cursor``: the program asked for application cursor keys (DECCKM, e.g. vim, less), so
    plain arrows are sent as ``ESC O A`` instead of ``ESC [ A``."""
    parts = key.split("+")
    base = parts[-1]
    if base == "" and len(parts) > 1:  # the "+" key itself
        base = "plus"
    mods = set(parts[:-1])
    param = _modifier_param(mods)

    if base in _CURSOR:
        final = _CURSOR[base]
        if param > 1:
            return _CSI + b"1;%d" % param + final
        return (_SS3 if app_cursor else _CSI) + final
    if base in _TILDE:
        n = _TILDE[base]
        return _CSI + (b"%d;%d~" % (n, param) if param > 1 else b"%d~" % n)
    if base in _FKEYS_SS3:
        final = _FKEYS_SS3[base]
        return _CSI + b"1;%d" % param + final if param > 1 else _SS3 + final
    if base in _FKEYS_TILDE:
        n = _FKEYS_TILDE[base]
        return _CSI + (b"%d;%d~" % (n, param) if param > 1 else b"%d~" % n)
    if base == "tab" and "shift" in mods:
        return _CSI + b"Z"

    alt = "alt" in mods or "meta" in mods
    body: bytes | None = None
    if "ctrl" in mods:
        if len(base) == 1 and base.isalpha():
            body = bytes([ord(base.lower()) & 0x1F])
        elif base in _CTRL_NAMED:
            body = bytes([_CTRL_NAMED[base]])
        elif len(base) == 1 and base in "@[\\]^_":
            body = bytes([ord(base) & 0x1F])
        elif character and len(character) == 1 and ord(character) < 0x20:
            body = character.encode()
        elif len(base) == 1:
            body = base.encode()
    elif base in _SIMPLE:
        body = _SIMPLE[base]
    elif character:
        body = character.encode("utf-8", "surrogatepass")
    elif len(base) == 1:
        body = base.encode()
    if body is None:
        return None
    return b"\x1b" + body if alt else body
