"""ssm-tui's own TOML settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssm_tui.aws.errors import ConfigError
from ssm_tui.aws.settings import load_settings, settings_path


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.path is None
    assert settings.audit_for("anything") is True
    assert settings.regions_for("p", "us-east-1") == ["us-east-1"]
    assert settings.login_command_for("p", "i-1") is None


def test_file_under_xdg_config_home_with_overrides() -> None:
    path = settings_path()
    assert "ssm-tui" in str(path) and path.name == "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'regions = ["eu-west-1"]\nlogin_command = "exec bash -l"\nrefresh_interval = 60\n'
        '[profiles.prod]\naudit_role_session_name = false\nregions = ["ap-south-1"]\n'
        'login_command = "sudo -iu ec2-user"\n'
        '[instances."i-0abc"]\nlogin_command = "exec zsh -l"\n'
    )
    settings = load_settings()
    assert settings.refresh_interval == 60
    assert settings.regions_for("dev", "us-east-1") == ["us-east-1", "eu-west-1"]
    assert settings.regions_for("prod", "us-east-1") == ["ap-south-1"]
    assert settings.audit_for("prod") is False and settings.audit_for("dev") is True
    assert settings.login_command_for("dev") == "exec bash -l"
    assert settings.login_command_for("prod", "i-other") == "sudo -iu ec2-user"
    assert settings.login_command_for("prod", "i-0abc") == "exec zsh -l"


def test_malformed_settings_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('regions = ["a"]\nrefresh_interval = \n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert (info.value.file, info.value.line) == (str(path), 2)


def test_wrong_type_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("audit_role_session_name = 'yes'\n")
    with pytest.raises(ConfigError, match="audit_role_session_name must be a bool"):
        load_settings(path)


def test_default_scopes_follow_the_settings(tmp_path: Path) -> None:
    from ssm_tui.aws.inventory import InventoryService, default_scopes
    from ssm_tui.aws.models import Profile, ProfileKind, Scope

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'regions = ["eu-west-1"]\nmax_concurrency_per_account = 3\n'
        '[profiles.prod]\nregions = ["ap-south-1"]\n'
    )
    settings = load_settings()
    profiles = [
        Profile("dev", ProfileKind.KEYS, region="us-east-1"),
        Profile("prod", ProfileKind.KEYS, region="us-east-1"),
    ]
    assert default_scopes(profiles, ["sa-east-1"], settings) == [
        Scope("dev", "us-east-1"),
        Scope("dev", "eu-west-1"),
        Scope("dev", "sa-east-1"),
        Scope("prod", "ap-south-1"),
        Scope("prod", "sa-east-1"),
    ]
    assert InventoryService()._max_scopes == 3


def test_an_unknown_key_names_file_line_and_the_close_match(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('regions = ["eu-west-1"]\nrefresh_intervall = 5\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert "unknown key 'refresh_intervall'" in info.value.detail
    assert "did you mean 'refresh_interval'?" in info.value.detail


def test_an_unknown_key_in_a_profile_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('login_command = "x"\n\n[profiles.prod]\nhidden = true\nregion = "eu-west-1"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.line == 5
    assert "unknown key 'profiles.prod.region' (did you mean 'regions'?)" in info.value.detail


def test_plugin_choice_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('plugin = "offical"\n')
    with pytest.raises(ConfigError, match="plugin .*'auto', 'official' or 'builtin'") as info:
        load_settings(path)
    assert info.value.line == 1


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text('refresh_interval = 60\nregions = ["eu-west-1"]\nplugin = "official"\n')
    monkeypatch.setenv("SSM_TUI_REFRESH_INTERVAL", "5")
    monkeypatch.setenv("SSM_TUI_REGIONS", "ap-south-1, us-west-2")
    monkeypatch.setenv("SSM_TUI_AUDIT_ROLE_SESSION_NAME", "false")
    settings = load_settings(path)
    assert settings.refresh_interval == 5.0
    assert settings.regions == ("ap-south-1", "us-west-2")
    assert settings.audit_for("any") is False
    assert settings.plugin == "official" and settings.path == path  # the file's own value
    monkeypatch.setenv("SSM_TUI_REFRESH_INTERVAL", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.file == "SSM_TUI_REFRESH_INTERVAL (environment)"
    assert "refresh_interval must be a number" in info.value.detail


def test_keymap_table_maps_binding_ids_to_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\n"app.help" = "f1"\n"app.quit" = "ctrl+q,ctrl+x"\n')
    assert load_settings(path).keymap == {"app.help": "f1", "app.quit": "ctrl+q,ctrl+x"}
    path.write_text('[keymap]\n"app.help" = ["f1"]\n')
    with pytest.raises(ConfigError, match="keymap.app.help must be a string"):
        load_settings(path)
