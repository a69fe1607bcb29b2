"""Settings: defaults, validation with one readable line per bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.assistant import model_path
from bot.cli import app
from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "DATA_DIR", "TIMEZONE", "DEFAULT_LANGUAGE", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_use_sqlite_in_the_data_directory() -> None:
    settings = load_settings()
    assert settings.resolved_database_url == "sqlite:///data/backoffice.sqlite3"
    assert (settings.timezone, settings.default_language) == ("UTC", "en")


def test_environment_then_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Asia/Baku\nDEFAULT_LANGUAGE=az\n", encoding="utf-8")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "EL")
    settings = load_settings()
    assert settings.timezone == "Asia/Baku"  # from .env
    assert settings.default_language == "el"  # the environment wins, normalised


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: unknown time zone"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE: 'fr' is not one of"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: only sqlite"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error: invalid setting: {message}")
    assert "Traceback" not in result.output


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123456:very-secret"


def test_the_sentence_encoder_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NLU_SENTENCE_ENCODER", raising=False)
    assert load_settings().nlu_sentence_encoder is True
    assert model_path(load_settings()).name == "model.joblib"
    (tmp_path / ".env").write_text("NLU_SENTENCE_ENCODER=no\n", encoding="utf-8")
    assert load_settings().nlu_sentence_encoder is False
    assert model_path(load_settings()).name == "model-no-encoder.joblib"  # its own model file
    monkeypatch.setenv("NLU_SENTENCE_ENCODER", "maybe")
    with pytest.raises(SettingsError, match="NLU_SENTENCE_ENCODER"):
        load_settings()
