"""The one settings object: environment variables and ``.env``; the names are a contract."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
# Slack answers run at most this many at a time (see bot/slack/lifecycle.py LanedExecutor).
ANSWER_WORKERS = 4


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Knowledge and index
    home: Path = Field(Path(".advisor"), validation_alias="ADVISOR_HOME")
    knowledge_dir: Path = Field(Path("knowledge"), validation_alias="ADVISOR_KNOWLEDGE_DIR")
    embedding_model: str = Field("", validation_alias="ADVISOR_EMBEDDING_MODEL")
    embedding_backend: Literal["onnx", "torch"] = Field("onnx", validation_alias="ADVISOR_EMBEDDING_BACKEND")
    chroma_url: str = Field("", validation_alias="ADVISOR_CHROMA_URL")
    max_file_mb: float = Field(20.0, gt=0, le=1024, validation_alias="ADVISOR_MAX_FILE_MB")

    # Retrieval and answering
    top_k: int = Field(5, ge=1, le=50, validation_alias="ADVISOR_TOP_K")
    min_relevance: float = Field(0.25, ge=0.0, le=1.0, validation_alias="ADVISOR_MIN_RELEVANCE")
    coverage_checks: bool = Field(True, validation_alias="ADVISOR_COVERAGE_CHECKS")
    query_rewrite: bool = Field(False, validation_alias="ADVISOR_QUERY_REWRITE")
    rerank: bool = Field(False, validation_alias="ADVISOR_RERANK")
    llm: str = Field("extractive", validation_alias="ADVISOR_LLM")
    llm_local: str = Field("", validation_alias="ADVISOR_LLM_LOCAL")
    llm_base_url: str = Field("", validation_alias="ADVISOR_LLM_BASE_URL")
    llm_api_key: SecretStr = Field(SecretStr(""), validation_alias="ADVISOR_LLM_API_KEY")
    llm_timeout: float = Field(60.0, gt=0, le=3600, validation_alias="ADVISOR_LLM_TIMEOUT")
    llm_retries: int = Field(2, ge=0, le=10, validation_alias="ADVISOR_LLM_RETRIES")
    llm_fallback: str = Field("extractive", validation_alias="ADVISOR_LLM_FALLBACK")
    llm_max_tokens: int = Field(512, ge=16, le=32768, validation_alias="ADVISOR_LLM_MAX_TOKENS")
    audit_questions: Literal["plain", "hash"] = Field("plain", validation_alias="ADVISOR_AUDIT_QUESTIONS")

    # Administration
    admins: str = Field("", validation_alias="ADVISOR_ADMINS")
    admins_include_workspace_admins: bool = Field(False, validation_alias="ADVISOR_ADMINS_INCLUDE_WORKSPACE_ADMINS")
    max_upload_mb: float = Field(10.0, gt=0, le=1024, validation_alias="ADVISOR_MAX_UPLOAD_MB")
    reply_to_bots: bool = Field(False, validation_alias="ADVISOR_REPLY_TO_BOTS")

    # Slack
    # Secrets: SecretStr keeps them out of reprs, logs and tracebacks; read with secret().
    slack_bot_token: SecretStr = Field(SecretStr(""), validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr = Field(SecretStr(""), validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr = Field(SecretStr(""), validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(SLACK_DEFAULT_API_URL, validation_alias="SLACK_API_URL")
    port: int = Field(3000, ge=1, le=65535, validation_alias=AliasChoices("PORT", "ADVISOR_PORT"))
    http_threads: int = Field(16, ge=1, le=256, validation_alias="ADVISOR_HTTP_THREADS")
    # Threads answering Slack events (mentions, DMs) behind a queue, off the acknowledging path.
    answer_workers: int = Field(ANSWER_WORKERS, ge=1, le=256, validation_alias="ADVISOR_ANSWER_WORKERS")
    # On SIGTERM, how long answers in flight may take to finish before the process exits.
    shutdown_timeout: float = Field(30.0, ge=0, le=3600, validation_alias="ADVISOR_SHUTDOWN_TIMEOUT")

    log_level: str = Field("INFO", validation_alias="ADVISOR_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", validation_alias="ADVISOR_LOG_FORMAT")

    @field_validator("home")
    @classmethod
    def _usable_home(cls, value: Path) -> Path:
        """State lives here: a file in the way or a read-only place is reported at start-up."""
        if value.exists() and not value.is_dir():
            raise ValueError(f"ADVISOR_HOME {value} is a file, not a folder")
        existing = value
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"ADVISOR_HOME {value} is not writable (nearest existing folder: {existing})")
        if not existing.is_dir():
            raise ValueError(f"ADVISOR_HOME {value} cannot be created: {existing} is not a folder")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = (value or "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"ADVISOR_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
        return level

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        value = value or SLACK_DEFAULT_API_URL
        return value if value.endswith("/") else value + "/"

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.admins.replace(";", ",").split(",") if part.strip())

    def secret(self, name: str) -> str:
        """The value of a secret setting (``"slack_bot_token"``…), "" when unset."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else (value or "")

    @property
    def slack_configured(self) -> bool:
        return bool(
            self.secret("slack_bot_token") and (self.secret("slack_app_token") or self.secret("slack_signing_secret"))
        )

    @property
    def framework_path(self) -> Path:
        return self.knowledge_dir / "assessment.yaml"

    @property
    def bot_db_path(self) -> Path:
        return self.home / "advisor.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
