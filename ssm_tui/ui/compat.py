"""The few places where ssm-tui reaches past Textual's public API, in one module.

Each function here exists because the public route costs measurable time on the first frame
(see CONTRIBUTING.md, "The first frame"), and each has a test in tests/ui/test_compat.py that
checks the Textual behaviour it copies or calls, so a Textual release that changes it fails the
suite instead of breaking the app quietly. Nothing else in ssm_tui touches a `_name` of Textual.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import BindingsMap
    from textual.dom import DOMNode
    from textual.screen import Screen


def modal_binding_chain(screen: Screen[Any]) -> list[tuple[DOMNode, BindingsMap]]:
    """The (node, bindings) pairs a key goes through, focused widget first, up to the first
    modal screen: what `Screen.active_bindings` walks (private `Screen._modal_binding_chain`).

    The key bar walks it itself to skip the ~50 hidden bindings whose `check_action` it would
    otherwise parse on its first draw."""
    return screen._modal_binding_chain


def check_action_state(app: App[Any], action: str, node: DOMNode) -> bool | None:
    """What `check_action` says of `action` run from `node`: True shown and enabled, None shown
    but disabled, False hidden (private `App._check_action_state`, as `active_bindings` uses)."""
    return app._check_action_state(action, node)


def set_theme_before_css(app: App[Any], name: str) -> None:
    """Start the app with theme `name` before any stylesheet is parsed.

    Setting `App.theme` runs `App._watch_theme`, which re-parses every stylesheet with the new
    variables (about a tenth of the time to the first frame); before the first parse there is
    nothing to re-parse. This is `_watch_theme` minus the re-parse: the theme classes, the CSS
    variables and the ANSI-to-truecolor filter (private `App._refresh_truecolor_filter`)."""
    app.set_reactive(type(app).theme, name)
    dark = app.current_theme.dark
    classes = {c: False for c in app.classes if c.startswith("-theme-")}
    classes.update({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark})
    app.update_classes(classes, update=False)
    app.stylesheet.set_variables(app.get_css_variables())
    app._refresh_truecolor_filter(app.ansi_theme)


def add_stylesheet(app: App[Any], path: str) -> bool:
    """Add a .tcss file to the running app's stylesheet, once; True if it was new.

    `App.CSS_PATH` files are all parsed before the first frame; an area mounted later brings its
    own file just before its first widget mounts. Public `Stylesheet` methods only: not
    `Stylesheet.read`, which (Textual 8.2) leaves the selector map of the old rules in place, so
    its rules reached only widgets mounted after some new widget class added its DEFAULT_CSS
    (tests/ui/test_compat.py). `add_source` under the same (path, "") key as `read` resets it."""
    if app.stylesheet.has_source(path):
        return False
    app.stylesheet.add_source(Path(path).read_text(encoding="utf-8"), read_from=(path, ""))
    return True
