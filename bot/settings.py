"""Settings from the environment, then `.env`, then defaults; validated once at start-up."""

from __future__ import annotations

import re
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
    slack_app_token: SecretStr | None = Field(default=None, description="An app-level token (xapp-…): Slack over Socket Mode.")
    slack_api_url: str = Field(default="https://slack.com/api/", description="The Slack Web API base (a local server in tests).")
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = Field(default="https://api.telegram.org/bot", description="The Bot API base, the token appended (a local Bot API server in tests).")
    telegram_file_url: str = Field(default="https://api.telegram.org/file/bot", description="The Bot API file base, the token appended.")
    telegram_webhook_url: str | None = Field(default=None, description="Set: Telegram posts updates there (POST /telegram/webhook behind it); unset: long polling.")
    telegram_webhook_secret: SecretStr | None = None

    # Understanding (nlu/): the pretrained sentence encoder reads meaning that the training data's words do not show
    # in English and Russian messages, for ~1 ms more per such message and up to ~150 MB more memory.
    nlu_sentence_encoder: bool = Field(default=True, description="The multilingual sentence encoder in the intent model.")

    # Running as a service (`backoffice run`).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port (the log says which).")
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # What the assistant says by itself (bot/scheduler.py), in each recipient's own time zone.
    reminder_hour: int = Field(default=9, ge=0, le=23, description="Local hour of the managers' digest and of \"your leave starts tomorrow\".")
    digest_after_hours: float = Field(default=24, gt=0, description="A leave request waiting longer goes into its decider's digest.")
    hr_follow_up_hours: float = Field(default=24, gt=0, description="An HR case unanswered longer is brought up to HR again.")
    quiet_hours: str = Field(default="21:00-08:00", description="Local night: what can wait is sent at its end.")

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        match = re.fullmatch(r"\s*([01]?\d|2[0-3])(?::([0-5]\d))?\s*[-–]\s*([01]?\d|2[0-3])(?::([0-5]\d))?\s*", value)
        if not match:
            raise ValueError("must be a range of local times like 21:00-08:00")
        start_hour, start_minute, end_hour, end_minute = match.groups()
        return f"{int(start_hour):02d}:{start_minute or '00'}-{int(end_hour):02d}:{end_minute or '00'}"

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

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _slack_token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A token of the other kind (a user or app token where the bot token goes) would be refused by Slack much
        later, on the first message; said here, at start-up, without quoting the token. Empty means not set."""
        token = value.get_secret_value().strip() if value is not None else ""
        if not token:
            return None
        prefix, kind = ("xapp-", "an app-level token") if info.field_name == "slack_app_token" else ("xoxb-", "a bot token")
        if not token.startswith(prefix):
            raise ValueError(f"must be {kind}, starting with {prefix}")
        return SecretStr(token)

    @field_validator("telegram_api_url", "telegram_file_url")
    @classmethod
    def _bot_api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL, e.g. https://api.telegram.org/bot")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if not value.startswith(("https://", "http://")):  # Telegram itself takes https only; a local Bot API server http too
            raise ValueError("must be an https:// URL that reaches POST /telegram/webhook of this service")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Telegram's rule for a webhook's secret_token: 1–256 letters, digits, `_` and `-`. Empty means not set."""
        secret = value.get_secret_value().strip() if value is not None else ""
        if not secret:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("must be 1 to 256 letters, digits, _ or -")
        return SecretStr(secret)

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
        secrets = (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token, self.telegram_bot_token, self.telegram_webhook_secret)
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
