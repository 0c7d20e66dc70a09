"""Request and response models shared by the routes (Create / Update / Public families)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from chatkiosk.auth.usernames import USERNAME_PATTERN

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error statuses a route can answer."""
    return {status: {"model": ErrorBody, "description": "error"} for status in statuses}


class ListPage(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool


# --- accounts


class RegisterRequest(Strict):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–32 letters, digits, `_`, `.`, `-`")
    password: str = Field(min_length=1, max_length=256)
    email: EmailStr | None = None


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=4096)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserUpdate(Strict):
    """What a user may change about themselves: only the e-mail address."""

    email: EmailStr | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    email: str | None
    role: Literal["user", "admin"]
    created_at: datetime


class AdminUserPublic(UserPublic):
    disabled: bool


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class SessionPublic(BaseModel):
    id: str
    device: str
    created_at: datetime
    last_used_at: datetime
    current: bool


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)


class KeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="the secret, shown this once")


# --- conversations

_METADATA_MAX = 16


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return value
    if len(value) > _METADATA_MAX:
        raise ValueError(f"at most {_METADATA_MAX} metadata keys")
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError("metadata keys are at most 64 characters")
        if not isinstance(item, (str, int, float, bool)) or (isinstance(item, str) and len(item) > 512):
            raise ValueError("metadata values are strings (≤512 chars), numbers or booleans")
    return value


class ConversationCreate(Strict):
    agent: str = Field("assistant", min_length=1, max_length=64)
    title: str = Field("", max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Start from one of your presets: the conversation takes its name (see /api/presets).
    preset_id: str | None = Field(None, min_length=1, max_length=64)

    _meta = field_validator("metadata")(_check_metadata)


class ConversationUpdate(Strict):
    title: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] | None = None

    _meta = field_validator("metadata")(_check_metadata)


class ConversationPublic(BaseModel):
    id: str
    agent: str
    title: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    # The running summary of history that fell out of the context window (None until then).
    summary: str | None = None

    @classmethod
    def of(cls, conv: Any) -> ConversationPublic:
        return cls(
            id=conv.id, agent=conv.agent, title=conv.title, created_at=conv.created_at,
            updated_at=conv.updated_at, metadata=conv.metadata_ or {}, summary=conv.summary,
        )


MessageStatus = Literal["complete", "streaming", "incomplete", "cancelled", "error"]


class MessagePublic(BaseModel):
    id: str
    role: Literal["user", "assistant", "tool", "system"]
    content: str
    status: MessageStatus
    created_at: datetime
    usage: dict[str, Any] | None = None
    tool_calls: list[Any] | None = None
    tool_call_id: str | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def of(cls, msg: Any) -> MessagePublic:
        return cls(
            id=msg.id, role=msg.role, content=msg.content, status=msg.status, created_at=msg.created_at,
            usage=msg.usage, tool_calls=msg.tool_calls, tool_call_id=msg.tool_call_id, error=msg.error,
        )


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
