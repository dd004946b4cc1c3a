"""ssh-style escapes typed into a shell session, as the newest official plugin has them.

After a newline (`\\r` or `\\n`), `~` starts a local command (the newest plugin's
`src/sessionmanagerplugin/session/shellsession/shellsession.go`, `handleEscapeSequence`):

    ~.  terminate the session (TerminateSession), then exit
    ~?  print the list of escapes (locally; nothing is sent)
    ~~  send one `~`
    ~-  disable escapes for the rest of the session
    ~x  anything else: `~` and `x` are both sent

As in that plugin the state starts "not after a newline", so a `~` typed first is sent, and the
escape bytes are removed from what is sent. We recognise escapes only when stdin is a terminal
(`main.py`): data piped into the plugin is sent exactly as it is, like ssh without a tty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TERMINATE = "terminate"
HELP = "help"
DISABLED = "disabled"

HELP_TEXT = (
    "\r\nSupported escape sequence commands:\r\n"
    "  ~? - this help message\r\n"
    "  ~~ - send the ~ character to the remote target\r\n"
    "  ~- - disable escape sequences for the rest of this session\r\n"
    "  ~. - disconnect and terminate session\r\n"
    "(Note that escapes are only recognized immediately after newline.)\r\n"
)
DISABLED_TEXT = "\r\nEscape sequences disabled for this session.\r\n"


@dataclass(slots=True)
class Filtered:
    """What one read of the keyboard gives: bytes to send, and local actions in order."""

    send: bytes = b""
    actions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EscapeFilter:
    """The escape state machine over the keyboard byte stream (no I/O)."""

    enabled: bool = True
    after_newline: bool = False
    escaped: bool = False

    def feed(self, data: bytes) -> Filtered:
        if not self.enabled or not data:
            return Filtered(data)
        if not self.escaped and b"~" not in data:
            # the common case, and all of a paste: no byte-by-byte loop over a megabyte
            self.after_newline = data[-1] in (0x0A, 0x0D)
            return Filtered(data)
        out = bytearray()
        result = Filtered()
        index, size = 0, len(data)
        while index < size:
            if self.escaped:
                byte = data[index]
                index += 1
                self.escaped = False
                self.after_newline = False
                if byte == ord("?"):
                    result.actions.append(HELP)
                elif byte == ord("."):
                    result.actions.append(TERMINATE)
                    break  # nothing typed after ~. is sent
                elif byte == ord("-"):
                    self.enabled = False
                    result.actions.append(DISABLED)
                    out += data[index:]
                    break
                elif byte == ord("~"):
                    out.append(byte)
                else:
                    out += bytes((ord("~"), byte))
                continue
            tilde = data.find(b"~", index)
            if tilde < 0:
                out += data[index:]
                self.after_newline = data[-1] in (0x0A, 0x0D)
                break
            if tilde > index:
                out += data[index:tilde]
                self.after_newline = data[tilde - 1] in (0x0A, 0x0D)
            if self.after_newline:
                self.escaped = True
            else:
                out.append(ord("~"))
            self.after_newline = False
            index = tilde + 1
        result.send = bytes(out)
        return result
