"""The rule for usernames, shared by registration (the API) and `chatkiosk user add` (the CLI).

3–32 letters, digits, `_`, `.`, `-`; and not a name that reads as the server or its staff
(`admin`, `root`, `system`, `support`…), however it is cased, punctuated or numbered
(`Admin`, `ad.min`, `root_1`), so nobody can pose as the operator in a conversation or a ticket.
"""

from __future__ import annotations

import re

from chatkiosk.errors import ValidationFailed

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"

RESERVED_USERNAMES = frozenset({
    "admin", "administrator", "admins", "root", "system", "sysadmin", "superuser", "support", "helpdesk",
    "staff", "moderator", "operator", "security", "abuse", "postmaster", "webmaster", "hostmaster",
    "noreply", "chatkiosk", "official",
})

_SEPARATORS = re.compile(r"[_.\-]")
_TRAILING_DIGITS = re.compile(r"\d+$")


def is_reserved(username: str) -> bool:
    """True when `username` is, or dresses up as, a reserved name."""
    bare = _SEPARATORS.sub("", username.lower())
    return bare in RESERVED_USERNAMES or _TRAILING_DIGITS.sub("", bare) in RESERVED_USERNAMES


def check_username(username: str) -> None:
    """Raise ValidationFailed unless `username` may be registered."""
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise ValidationFailed(
            "a username is 3–32 letters, digits, `_`, `.` or `-`", code="invalid_username", param="username"
        )
    if is_reserved(username):
        raise ValidationFailed("this username is reserved; choose another", code="reserved_username", param="username")
