"""Each Textual internal that `ssm_tui.ui.compat` relies on still behaves as compat assumes.

A Textual release that renames or changes one of them fails here, naming the function, instead of
breaking the key bar, the theme or the lazily loaded styles quietly.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.filter import ANSIToTruecolor
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from ssm_tui.ui import compat

LIGHT = "textual-light"
"""A built-in light theme: its ANSI theme differs from the default dark one's."""


class Probe(Widget, can_focus=True):
    BINDINGS = [
        Binding("a", "shown", "Shown"),
        Binding("b", "disabled", "Disabled"),
        Binding("c", "hidden", "Hidden"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return {"shown": True, "disabled": None, "hidden": False}.get(action, True)


class Dialog(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Probe(id="inner")


class ProbeApp(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Probe(id="outer")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "quit"  # so "app.quit" is told apart from the widget's answer


async def test_modal_binding_chain_runs_from_the_focused_widget_to_the_app() -> None:
    app = ProbeApp()
    async with app.run_test() as pilot:
        probe = app.query_one("#outer", Probe)
        probe.focus()
        await pilot.pause()
        chain = compat.modal_binding_chain(app.screen)
        nodes = [node for node, _bindings in chain]
        assert nodes[0] is probe
        assert app.screen in nodes
        assert nodes[-1] is app
        keys = {key for key, _binding in chain[0][1]}
        assert {"a", "b", "c"} <= keys


async def test_modal_binding_chain_stops_at_a_modal_screen() -> None:
    app = ProbeApp()
    async with app.run_test() as pilot:
        base = app.screen
        await app.push_screen(Dialog())
        inner = app.screen.query_one("#inner", Probe)
        inner.focus()
        await pilot.pause()
        nodes = [node for node, _bindings in compat.modal_binding_chain(app.screen)]
        assert nodes[0] is inner
        assert nodes[-1] is app.screen and isinstance(app.screen, Dialog)
        assert app not in nodes and base not in nodes


async def test_check_action_state_is_what_check_action_answers_for_the_target() -> None:
    app = ProbeApp()
    async with app.run_test():
        probe = app.query_one("#outer", Probe)
        assert compat.check_action_state(app, "shown", probe) is True
        assert compat.check_action_state(app, "disabled", probe) is None
        assert compat.check_action_state(app, "hidden", probe) is False
        # a namespaced action asks its own namespace, not the default node
        assert compat.check_action_state(app, "app.quit", probe) is False
        assert compat.check_action_state(app, "app.bell", probe) is True


async def test_the_two_together_rebuild_active_bindings() -> None:
    """What the key bar does with them (less its skipping) is what Textual shows."""
    app = ProbeApp()
    async with app.run_test() as pilot:
        app.query_one("#outer", Probe).focus()
        await pilot.pause()
        rebuilt: dict[str, bool] = {}
        held: dict[str, Binding] = {}
        for node, bindings in compat.modal_binding_chain(app.screen):
            for key, binding in bindings:
                state = compat.check_action_state(app, binding.action, node)
                if state is False:
                    continue
                if key in held and not (binding.priority and not held[key].priority):
                    continue
                held[key] = binding
                rebuilt[key] = bool(state)
        expected = {key: active.enabled for key, active in app.screen.active_bindings.items()}
        assert rebuilt == expected
        assert expected["a"] is True and expected["b"] is False and "c" not in expected


def _theme_state(app: App[None]) -> dict[str, object]:
    filters = [f for f in app._filters if isinstance(f, ANSIToTruecolor)]
    return {
        "theme": app.theme,
        "classes": sorted(c for c in app.classes if c.startswith(("-theme-", "-dark", "-light"))),
        "variables": dict(app.stylesheet._variables),
        "filter_theme": [f._terminal_theme for f in filters],
        "background": app.screen.styles.background,
    }


async def test_set_theme_before_css_leaves_the_app_as_setting_the_theme_does() -> None:
    """Textual's own route (`App.theme = ...` once running, through `App._watch_theme`) and
    compat's (before the first parse) end in the same classes, variables, filter and colours."""
    ours = ProbeApp()
    compat.set_theme_before_css(ours, LIGHT)
    async with ours.run_test() as pilot:
        await pilot.pause()
        ours_state = _theme_state(ours)

    textuals = ProbeApp()
    async with textuals.run_test() as pilot:
        before = _theme_state(textuals)
        textuals.theme = LIGHT
        await pilot.pause()
        await pilot.pause()
        textuals_state = _theme_state(textuals)

    assert before["theme"] != LIGHT and before["classes"] != textuals_state["classes"]
    assert ours_state == textuals_state
    assert ours_state["filter_theme"] == [ours.ansi_theme_light]


async def test_add_stylesheet_styles_widgets_mounted_after_it(tmp_path: Path) -> None:
    css = tmp_path / "area.tcss"
    css.write_text(".area-probe { width: 7; }\n")
    app = ProbeApp()
    async with app.run_test() as pilot:
        before = Static("x", classes="area-probe")
        await app.screen.mount(before)
        await pilot.pause()
        assert before.size.width != 7  # the rule is not there yet

        assert compat.add_stylesheet(app, str(css)) is True
        assert compat.add_stylesheet(app, str(css)) is False  # read once
        after = Static("y", classes="area-probe")
        await app.screen.mount(after)
        await pilot.pause()
        assert after.size.width == 7
