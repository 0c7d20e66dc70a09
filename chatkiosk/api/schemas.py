"""Request and response models shared by the routes (Create / Update / Public families)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StringConstraints, WithJsonSchema

from chatkiosk.auth.passwords import COMMON_PASSWORDS, REPEATED
from chatkiosk.auth.passwords import MAX_LENGTH as PASSWORD_MAX
from chatkiosk.auth.passwords import MIN_LENGTH as PASSWORD_MIN
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


def _email(value: str) -> str:
    # The syntax of RFC 5321 as JSON Schema's `format: email` means it; `.test` addresses
    # (RFC 2606, used by testers and staging setups) are valid too. Nothing is looked up.
    try:
        return email_validator.validate_email(value, check_deliverability=False, test_environment=True).normalized
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


# What check_strength refuses, said in the schema: the common passwords (case-insensitively;
# listed in lower case) and one character repeated.
_NOT_WEAK = {"not": {"anyOf": [{"pattern": REPEATED}, {"enum": sorted(COMMON_PASSWORDS)}]}}
NewPassword = Annotated[
    str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="not a common password", json_schema_extra=_NOT_WEAK)
]

Email = Annotated[
    str, StringConstraints(max_length=254), AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


class RegisterRequest(Strict):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–32 letters, digits, `_`, `.`, `-`; reserved names (`admin`, `root`, …) are refused with 422")
    password: NewPassword
    email: Email | None = None


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=4096)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class UserUpdate(Strict):
    """What a user may change about themselves: only the e-mail address."""

    email: Email | None = None


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

METADATA_MAX_KEYS = 16  # as OpenAI's `metadata`: 16 keys of ≤64 characters, values ≤512

MetadataValue = Annotated[str, StringConstraints(max_length=512)] | StrictInt | StrictFloat | StrictBool
Metadata = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], MetadataValue],
    Field(max_length=METADATA_MAX_KEYS, description=f"at most {METADATA_MAX_KEYS} keys of ≤64 characters; values are strings (≤512), numbers or booleans"),
]


class ConversationCreate(Strict):
    agent: str = Field("assistant", min_length=1, max_length=64)
    title: str = Field("", max_length=200)
    metadata: Metadata = Field(default_factory=dict)
    # Start from one of your presets: the conversation takes its name (see /api/presets).
    preset_id: str | None = Field(None, min_length=1, max_length=64)


class ConversationUpdate(Strict):
    title: str | None = Field(None, max_length=200)
    metadata: Metadata | None = None


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


MessageStatus = Literal["complete", "streaming", "incomplete", "cancelled", "error", "blocked"]


class MessageAttachment(BaseModel):
    """A photo sent with a message, by reference; `url` serves it to the conversation's owner."""

    id: str
    content_type: str
    width: int
    height: int
    url: str


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
    guardrail: dict[str, Any] | None = Field(None, description="the guardrail that acted on it: `{check, action, source}`")
    attachments: list[MessageAttachment] | None = Field(None, description="photos sent with it (a reference each, never the bytes)")

    @classmethod
    def of(cls, msg: Any) -> MessagePublic:
        refs = getattr(msg, "attachments", None) or None
        return cls(
            id=msg.id, role=msg.role, content=msg.content, status=msg.status, created_at=msg.created_at,
            usage=msg.usage, tool_calls=msg.tool_calls, tool_call_id=msg.tool_call_id, error=msg.error,
            guardrail=getattr(msg, "guardrail", None),
            attachments=[
                MessageAttachment(**r, url=f"/api/conversations/{msg.conversation_id}/attachments/{r['id']}") for r in refs
            ] if refs and msg.conversation_id else None,
        )


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
