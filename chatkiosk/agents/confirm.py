"""Confirmations: a side-effecting tool runs only after its user says yes, and only once.

When the model calls a tool defined with `requires_confirmation=True`, the tool does not run.
The model gets `{"status": "confirmation_required", "confirmation_id", "summary"}` instead, and
a `Confirmation` is stored: bound to the user, the conversation, the tool, the canonical
arguments and an expiry, and signed with the server's secret. Confirming is an API action of
the user (`confirm`), never something the model can do: no tool confirms.

A confirmation also describes the state it confirms. A tool that acts on state the user can
change meanwhile (a cart and its total, an order and its status) declares a `fingerprint`; the
state it returns is shown in the confirmation, bound into its signature, and computed again
right before the call runs. When it differs, the confirmation is refused (`confirmation_stale`)
and nothing runs: a yes given to "pay ₩1,800" never pays ₩139,800. The call then runs with
`ctx.confirmed_state`, so a tool can also check it inside its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from chatkiosk.agents.deps import ToolDeps
from chatkiosk.agents.tools import (
    DEFAULT_TOOL_TIMEOUT,
    Tool,
    ToolContext,
    ToolOutcome,
    ToolRegistry,
    error_result,
    run_validated,
)
from chatkiosk.errors import Conflict, NotFound, PermissionDenied, ToolError, UserError

DEFAULT_TTL = 300.0


class ConfirmationRefused(UserError):
    """A confirmation that is unknown, someone else's, used, expired or altered."""

    status_code = 409
    code = "confirmation_refused"


def canonical_json(arguments: dict[str, Any]) -> str:
    """Sorted-keys compact JSON: the same arguments always give the same text."""
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def arguments_hash(arguments: dict[str, Any]) -> str:
    """SHA-256 of the canonical arguments."""
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


def state_hash(state: dict[str, Any]) -> str:
    """SHA-256 of a fingerprinted state (canonical JSON, like the arguments)."""
    return hashlib.sha256(canonical_json(state).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A pending side-effecting call, waiting for its user's yes."""

    id: str
    user_id: str
    conversation_id: str
    agent: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    summary: str
    created_at: float
    expires_at: float
    signature: str
    used: bool = False
    # What the call acts on, as the user saw it (None: the tool declares no fingerprint).
    state: dict[str, Any] | None = None
    state_hash: str | None = None

    def signed_fields(self) -> bytes:
        """The bytes the signature covers: everything that decides what runs, and for whom."""
        fields = [self.id, self.user_id, self.conversation_id, self.agent, self.tool,
                  self.arguments_hash, repr(float(self.expires_at))]
        if self.state_hash is not None:
            fields.append(self.state_hash)
        return "\x1f".join(fields).encode()

    def public(self) -> dict[str, Any]:
        """What the model and the client may see."""
        return {
            "status": "confirmation_required",
            "confirmation_id": self.id,
            "tool": self.tool,
            "summary": self.summary,
            **({"state": self.state} if self.state is not None else {}),
            "expires_at": datetime.fromtimestamp(self.expires_at, UTC).isoformat(),
            "message": "The user must confirm this action in the app before it runs.",
        }


def sign(secret: bytes | str, confirmation: Confirmation) -> str:
    """HMAC-SHA256 of the confirmation's signed fields, hex."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, confirmation.signed_fields(), hashlib.sha256).hexdigest()


class ConfirmationStore(Protocol):
    """Where pending confirmations live (in memory here; a database one in store/)."""

    async def create(self, confirmation: Confirmation) -> None:
        """Store a new confirmation."""
        ...

    async def get(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        """The user's confirmation (used or not), or None — someone else's is None too."""
        ...

    async def consume(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        """Atomically mark the user's unused confirmation used and return it.

        Exactly one of any number of concurrent calls gets it; the rest (and any call for
        another user's id, which must not use it up) get None.
        """
        ...


    async def latest_pending(self, user_id: str, conversation_id: str) -> Confirmation | None:
        """The newest unused, unexpired confirmation of the user in that conversation (for a "yes" by chat)."""
        ...


class MemoryConfirmationStore:
    """`ConfirmationStore` in a dict; for tests and single-process servers."""

    def __init__(self) -> None:
        self._items: dict[str, Confirmation] = {}
        self._lock = threading.Lock()

    async def create(self, confirmation: Confirmation) -> None:
        with self._lock:
            now = time.time()
            # Forget long-expired ones so the dict does not grow without end.
            for key in [k for k, c in self._items.items() if c.expires_at < now - 3600]:
                del self._items[key]
            self._items[confirmation.id] = confirmation

    async def get(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        with self._lock:
            found = self._items.get(confirmation_id)
        return found if found is not None and found.user_id == str(user_id) else None

    async def consume(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        with self._lock:
            found = self._items.get(confirmation_id)
            if found is None or found.used or found.user_id != str(user_id):
                return None
            self._items[confirmation_id] = replace(found, used=True)
            return found

    async def latest_pending(self, user_id: str, conversation_id: str) -> Confirmation | None:
        now = time.time()
        with self._lock:
            mine = [c for c in self._items.values() if c.user_id == str(user_id) and c.conversation_id == str(conversation_id)
                    and not c.used and c.expires_at > now]
        return max(mine, key=lambda c: c.created_at, default=None)


async def request_confirmation(
    store: ConfirmationStore,
    secret: bytes | str,
    t: Tool,
    ctx: ToolContext,
    arguments: dict[str, Any],
    *,
    ttl: float = DEFAULT_TTL,
) -> ToolOutcome:
    """Store a signed confirmation for a validated call; the outcome tells the model to wait."""
    started = time.perf_counter()
    validated = t.validate(arguments)
    canonical = validated.model_dump(mode="json")
    state: dict[str, Any] | None = None
    if t.fingerprint is not None:
        try:
            state = await t.fingerprint(ctx, canonical)
        except (ToolError, UserError, NotFound, PermissionDenied, Conflict) as exc:
            # Nothing to confirm (no such order, an empty cart): the model hears why.
            duration = int((time.perf_counter() - started) * 1000)
            return ToolOutcome("error", error_result(exc.message, exc.code), canonical, duration)
    now = time.time()
    unsigned = Confirmation(
        id="cf_" + secrets.token_urlsafe(18),
        user_id=str(ctx.user_id),
        conversation_id=str(ctx.conversation_id),
        agent=ctx.agent,
        tool=t.name,
        arguments=canonical,
        arguments_hash=arguments_hash(canonical),
        summary=t.summarize(canonical, state),
        created_at=now,
        expires_at=now + ttl,
        signature="",
        state=state,
        state_hash=state_hash(state) if state is not None else None,
    )
    confirmation = replace(unsigned, signature=sign(secret, unsigned))
    await store.create(confirmation)
    duration = int((time.perf_counter() - started) * 1000)
    return ToolOutcome("confirmation_required", confirmation.public(), canonical, duration)


@dataclass(frozen=True, slots=True)
class ConfirmationGate:
    """What the loop needs to hold back side-effecting calls: a store, the secret, a TTL."""

    store: ConfirmationStore
    secret: bytes | str
    ttl: float = DEFAULT_TTL

    async def request(self, t: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutcome:
        """Hold the call back and return the model's `confirmation_required` result."""
        return await request_confirmation(self.store, self.secret, t, ctx, arguments, ttl=self.ttl)


def _check(secret: bytes | str, c: Confirmation, user_id: str, conversation_id: str, now: float) -> None:
    if c.user_id != user_id:
        raise ConfirmationRefused("confirmation not found or already used", code="confirmation_not_found")
    if not hmac.compare_digest(c.signature, sign(secret, c)):
        raise ConfirmationRefused("confirmation is not valid", code="confirmation_invalid")
    if arguments_hash(c.arguments) != c.arguments_hash:
        raise ConfirmationRefused("confirmation arguments were altered", code="confirmation_invalid")
    if (c.state is None) != (c.state_hash is None) or (c.state is not None and state_hash(c.state) != c.state_hash):
        raise ConfirmationRefused("confirmation state was altered", code="confirmation_invalid")
    if c.conversation_id != conversation_id:
        raise ConfirmationRefused("confirmation belongs to another conversation", code="confirmation_invalid")
    if now >= c.expires_at:
        raise ConfirmationRefused("confirmation has expired", code="confirmation_expired")


class ConfirmationStale(ConfirmationRefused):
    """What the confirmed call acts on changed after the user was asked: nothing runs."""

    code = "confirmation_stale"


async def _check_state(t: Tool, ctx: ToolContext, claimed: Confirmation) -> None:
    """Refuse the call when its fingerprinted state is not the one the user confirmed."""
    if t.fingerprint is None:
        if claimed.state_hash is not None:
            raise ConfirmationRefused("this action is no longer available", code="confirmation_invalid")
        return
    if claimed.state_hash is None:
        raise ConfirmationRefused("confirmation does not describe what it confirms", code="confirmation_invalid")
    try:
        current = await t.fingerprint(ctx, claimed.arguments)
    except (ToolError, UserError, NotFound, PermissionDenied, Conflict) as exc:
        raise ConfirmationStale(
            f"nothing was done: {exc.message} (you confirmed: {claimed.summary})"
        ) from None
    if state_hash(current) != claimed.state_hash:
        raise ConfirmationStale(
            f"nothing was done: this changed after you were asked to confirm. "
            f"You confirmed: {claimed.summary}. Now: {t.summarize(claimed.arguments, current)}. "
            "Ask again to confirm it as it is now."
        )


async def confirm(
    store: ConfirmationStore,
    secret: bytes | str,
    confirmation_id: str,
    user_id: Any,
    conversation_id: Any,
    *,
    tools: ToolRegistry,
    deps: ToolDeps | None = None,
    state: dict[str, Any] | None = None,
    request_id: str | None = None,
    timeout: float | None = DEFAULT_TOOL_TIMEOUT,
) -> tuple[Confirmation, ToolOutcome]:
    """The user said yes: verify the confirmation, use it up, run the tool once.

    Refuses (`ConfirmationRefused`) one that is unknown, another user's, already used (a
    replay), expired, for another conversation, or altered (signature or arguments), and one
    whose fingerprinted state changed since it was asked (`ConfirmationStale`); nothing runs then. `tools` is the agent's registry — a tool it no longer grants is refused too.
    Returns the confirmation and the tool's outcome (a tool failure is an error outcome).
    """
    uid, cid = str(user_id), str(conversation_id)
    # A read first, so a wrong conversation or an altered record does not use the id up ...
    pending = await store.get(confirmation_id, uid)
    if pending is None or pending.used:
        raise ConfirmationRefused("confirmation not found or already used", code="confirmation_not_found")
    _check(secret, pending, uid, cid, time.time())
    # ... then the atomic claim: only one caller gets past here, and it re-checks what it got.
    claimed = await store.consume(confirmation_id, uid)
    if claimed is None:
        raise ConfirmationRefused("confirmation not found or already used", code="confirmation_not_found")
    _check(secret, claimed, uid, cid, time.time())
    t = tools.get(claimed.tool)
    if t is None or not t.requires_confirmation:
        raise ConfirmationRefused("this action is no longer available", code="confirmation_invalid")
    try:
        validated = t.validate(claimed.arguments)
    except ToolError as exc:
        raise ConfirmationRefused(exc.message, code="confirmation_invalid") from None
    if arguments_hash(validated.model_dump(mode="json")) != claimed.arguments_hash:
        raise ConfirmationRefused("confirmation arguments were altered", code="confirmation_invalid")
    ctx = ToolContext(
        user_id=user_id, conversation_id=conversation_id, agent=claimed.agent,
        deps=deps or ToolDeps(), state=state if state is not None else {}, request_id=request_id,
        confirmed_state=claimed.state,
    )
    await _check_state(t, ctx, claimed)
    outcome = await run_validated(t, ctx, validated, timeout=timeout)
    return claimed, outcome
