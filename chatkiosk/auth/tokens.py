"""JWTs: one algorithm (HS256), required `exp`, `iat`, `jti`, `sub`, `sid` and a `typ` claim.

Access tokens authenticate requests; refresh tokens only buy a new pair. Each carries the id
of its login (`sid`), which is what logout and revocation act on.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Literal

import jwt

from chatkiosk.errors import NotAuthenticated

ALGORITHM = "HS256"
VERIFIED_SIZE = 10_000  # verified tokens remembered (their claims, until they expire)
ISSUER = "chatkiosk"
TokenType = Literal["access", "refresh"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    login_id: str
    jti: str
    type: TokenType
    issued_at: int
    expires_at: int


class TokenService:
    """Issues and verifies the server's JWTs."""

    def __init__(self, secret: str, *, access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Verifying a token costs ~50-100 µs (base64, JSON, HMAC) and gives the same claims for
        # the same string every time, so the claims of a token already verified are kept until it
        # expires (access tokens: the ones every request carries). Revocation is not decided here:
        # it is checked on every request after this.
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, user_id: str, login_id: str, token_type: TokenType, *, jti: str | None = None) -> tuple[str, TokenClaims]:
        now = int(time.time())
        ttl = self.access_ttl if token_type == "access" else self.refresh_ttl
        claims = TokenClaims(user_id, login_id, jti or secrets.token_urlsafe(16), token_type, now, now + ttl)
        payload = {
            "iss": ISSUER, "sub": user_id, "sid": login_id, "jti": claims.jti, "typ": token_type,
            "iat": now, "exp": claims.expires_at,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def verify(self, token: str, expected: TokenType) -> TokenClaims:
        """The token's claims, or NotAuthenticated for anything not exactly right."""
        known = self._verified.get(token)
        if known is not None and known.type == expected and time.time() < known.expires_at:
            return known
        claims = self._verify(token, expected)
        if expected != "access":
            return claims
        if len(self._verified) >= VERIFIED_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str, expected: TokenType) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub", "sid", "typ", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("token expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("invalid token", code="invalid_token") from None
        if payload.get("typ") != expected:
            raise NotAuthenticated("invalid token", code="invalid_token")
        fields = (payload["sub"], payload["sid"], payload["jti"])
        if not all(isinstance(v, str) and v for v in fields):
            raise NotAuthenticated("invalid token", code="invalid_token")
        return TokenClaims(payload["sub"], payload["sid"], payload["jti"], expected, int(payload["iat"]), int(payload["exp"]))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
