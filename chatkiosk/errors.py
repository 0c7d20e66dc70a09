"""One root error, split by who must act: the caller (4xx), the upstream (502/504), the model.

Every error the API returns is one of these, rendered in OpenAI's error shape:
`{"error": {"type", "code", "message", "param"}}`.
"""

from __future__ import annotations


class ChatkioskError(Exception):
    """Root of every error chatkiosk raises on purpose."""

    status_code = 500
    type = "server_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        """The error in the API's one shape."""
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


# --- the caller must act -----------------------------------------------------------------


class UserError(ChatkioskError):
    """The request is wrong: fix it and try again."""

    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"


class ValidationFailed(UserError):
    """The request is well-formed but a value is out of range or of the wrong type."""

    status_code = 422
    code = "validation_error"


class PayloadTooLarge(UserError):
    status_code = 413
    code = "payload_too_large"


class NotAuthenticated(ChatkioskError):
    """No credentials, or credentials that are not (or no longer) valid."""

    status_code = 401
    type = "authentication_error"
    code = "invalid_credentials"


class PermissionDenied(ChatkioskError):
    status_code = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(ChatkioskError):
    """Missing, or someone else's: the two are answered the same."""

    status_code = 404
    type = "not_found_error"
    code = "not_found"


class Conflict(ChatkioskError):
    status_code = 409
    type = "invalid_request_error"
    code = "conflict"


class RateLimited(ChatkioskError):
    """Too many requests; `retry_after` seconds until the next one may pass."""

    status_code = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(message, code=code, headers={"Retry-After": str(self.retry_after)})


# --- the upstream must act ---------------------------------------------------------------


class UpstreamError(ChatkioskError):
    """The LLM provider failed. `retryable` says whether another try may succeed."""

    status_code = 502
    type = "upstream_error"
    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
        self.upstream_status = upstream_status


class UpstreamTimeout(UpstreamError):
    """The provider did not answer in time (connect, first token or whole turn)."""

    status_code = 504
    code = "upstream_timeout"


class ContextOverflow(UpstreamError):
    """The prompt does not fit the model's context window: the conversation must be shortened."""

    status_code = 400
    type = "invalid_request_error"
    code = "context_length_exceeded"


class ServiceUnavailable(ChatkioskError):
    status_code = 503
    type = "server_error"
    code = "unavailable"


# --- the model must act ------------------------------------------------------------------


class ToolError(ChatkioskError):
    """A tool refused or failed; the model sees the message as the tool's result."""

    status_code = 422
    type = "tool_error"
    code = "tool_error"


class GuardrailTripped(ChatkioskError):
    """An input or output guardrail blocked the turn."""

    status_code = 400
    type = "invalid_request_error"
    code = "guardrail_blocked"
