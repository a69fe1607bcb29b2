"""Settings from the environment, then `.env`, then defaults; validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")


class SettingsError(Exception):
    """A setting has an invalid value; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the embedded database and models live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in DATA_DIR.")
    timezone: str = "UTC"
    default_language: str = "en"

    # Channels (filled in by the Slack and Telegram adapters).
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = Field(default="https://slack.com/api/", description="The Slack Web API base (a local server in tests).")
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None

    # Running as a service (`backoffice run`).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port (the log says which).")
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"{value!r} is not one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _web_api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL, e.g. https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'backoffice.sqlite3'}"

    @property
    def secret_values(self) -> list[str]:
        """The configured credentials, which the log filter removes wherever they appear."""
        secrets = (self.slack_bot_token, self.slack_signing_secret, self.telegram_bot_token, self.telegram_webhook_secret)
        return [secret.get_secret_value() for secret in secrets if secret is not None]


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one readable line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{variable}: {message}")
        raise SettingsError("; ".join(problems)) from None
