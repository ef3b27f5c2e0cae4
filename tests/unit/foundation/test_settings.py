"""Configuration: file + environment precedence, derived values and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigurationError
from connector.settings import load_settings

pytestmark = pytest.mark.unit


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_state_dir_default_to_config_folder(tmp_path: Path) -> None:
    cfg = write(tmp_path / "gxc.toml", 'participant_name = "ACME"\nport = 9001\n')
    s = load_settings(cfg)
    assert s.participant_name == "ACME"
    assert s.port == 9001
    assert s.state_dir == tmp_path.resolve()
    assert s.path(s.key_file) == tmp_path.resolve() / "keys/participant.key.pem"
    assert s.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/connector.db"
    assert s.base_url == "http://127.0.0.1:9001"


def test_environment_beats_file_and_overrides_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "gxc.toml", "port = 9001\n")
    monkeypatch.setenv("GXC_PORT", "9002")
    monkeypatch.setenv("GXC_LOG_FORMAT", "console")
    assert load_settings(cfg).port == 9002
    assert load_settings(cfg).log_format == "console"
    assert load_settings(cfg, port=9003).port == 9003


def test_public_url_defines_base_url(tmp_path: Path) -> None:
    cfg = write(tmp_path / "gxc.toml", 'public_url = "https://connector.example.com/"\n')
    assert load_settings(cfg).base_url == "https://connector.example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("port = \n", "is not valid TOML"),
        ('port = "many"\n', "port: Input should be a valid integer"),
        ("colour = 1\n", "colour: unknown setting"),
        ('public_url = "ftp://x"\n', "public_url: Value error, must be an http:// or https:// URL"),
    ],
)
def test_bad_files_give_one_line_naming_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    cfg = write(tmp_path / "gxc.toml", text)
    with pytest.raises(ConfigurationError) as info:
        load_settings(cfg)
    assert expected in info.value.message
    assert "\n" not in info.value.message


def test_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="gxc init"):
        load_settings(tmp_path / "absent.toml")
