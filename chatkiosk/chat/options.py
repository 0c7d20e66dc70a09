"""Generation options a client may send with a turn, validated (out of range: 422)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chatkiosk.jsontypes import JsonFloat, json_int
from chatkiosk.llm.base import GenerationOptions


StopSequence = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MaxTokens = json_int(ge=1, le=32_768)


class TurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # JSON numbers: `true` or "0.5" is not a number (422), as the schema says
    temperature: JsonFloat | None = Field(None, ge=0, le=2)
    top_p: JsonFloat | None = Field(None, gt=0, le=1)
    max_tokens: MaxTokens | None = None
    stop: StopSequence | Annotated[list[StopSequence], Field(max_length=4)] | None = None
    presence_penalty: JsonFloat | None = Field(None, ge=-2, le=2)
    frequency_penalty: JsonFloat | None = Field(None, ge=-2, le=2)
    model: str | None = Field(None, min_length=1, max_length=128)
    response_format: dict[str, Any] | None = None  # json_object / json_schema (OpenAI's shape)

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("stop")
    @classmethod
    def _short_stops(cls, value: list[str] | None) -> list[str] | None:
        if value and any(not s or len(s) > 64 for s in value):
            raise ValueError("each stop sequence has 1–64 characters")
        return value

    def to_generation(self, default_max_tokens: int) -> GenerationOptions:
        return GenerationOptions(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens or default_max_tokens,
            stop=self.stop, presence_penalty=self.presence_penalty, frequency_penalty=self.frequency_penalty,
            model=self.model, response_format=self.response_format,
        )
