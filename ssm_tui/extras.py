"""Optional parts of the install, and the one command that adds each.

The app installs lean; the sandbox (`ssm-tui --demo`, `ssm-tui sandbox`) needs moto and a web
server, which come with the `sandbox` extra. The check only looks the modules up (no import), so
the app still never imports the sandbox's dependencies.
"""

from __future__ import annotations

import importlib.util

SANDBOX_MODULES = ("moto", "boto3", "uvicorn", "starlette", "a2wsgi")
"""What `ssm_tui.sandbox` imports from outside the app's own dependencies."""

SANDBOX_INSTALL = "pip install 'ssm-tui[sandbox]'"
"""The one command that adds the sandbox (in a source checkout: pip install -e '.[sandbox]')."""


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """The names among `names` that this interpreter cannot import."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def sandbox_missing_message() -> str | None:
    """What to tell a user whose install lacks the sandbox; None when it is there."""
    missing = missing_modules(SANDBOX_MODULES)
    if not missing:
        return None
    return (
        f"ssm-tui: the sandbox is not installed (missing: {', '.join(missing)}).\n"
        f"Add it with: {SANDBOX_INSTALL}"
    )
