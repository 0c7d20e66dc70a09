"""`chatkiosk user …` and `chatkiosk key …`: accounts and API keys from the server's shell.

The same rules as the HTTP API: a new username goes through the shared `check_username`
(`auth/usernames.py`), a new password through the same strength check, and disabling or a new password ends the
account's logins at once, exactly as the admin routes do.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pydantic import ValidationError

from chatkiosk.errors import ChatkioskError

def check_new_user(username: str, email: str | None) -> None:
    """Refuse, before the password is asked for, a username or e-mail the API would refuse."""
    from pydantic import EmailStr, TypeAdapter

    from chatkiosk.auth.usernames import check_username

    try:
        check_username(username)
    except ChatkioskError as exc:
        raise ChatkioskError(f"bad username {username!r}: {exc.message}") from None
    if email is not None:
        try:
            TypeAdapter(EmailStr).validate_python(email)
        except ValidationError as exc:
            raise ChatkioskError(f"bad e-mail {email!r}: {exc.errors()[0]['msg'].removeprefix('value is not a valid email address: ')}") from None


def _run(work: Any) -> Any:
    from chatkiosk.cli import _settings, _with_runtime

    return asyncio.run(_with_runtime(_settings(), work))


async def _user_named(runtime: Any, name: str) -> Any:
    from chatkiosk.store import users

    async with runtime.db.read() as session:
        user = await users.by_username(session, name)
    if user is None:
        raise ChatkioskError(f"no user named {name!r}")
    return user


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "never"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows])


def cmd_user_list(args: argparse.Namespace) -> int:
    """Every account, oldest first: name, role, state, created."""
    from sqlalchemy import select

    from chatkiosk.store.tables import User

    async def work(runtime: Any) -> list[Any]:
        async with runtime.db.read() as session:
            return list((await session.execute(select(User).order_by(User.created_at, User.id))).scalars())

    found = _run(work)
    if not found:
        print("no users yet (add one: chatkiosk user add NAME)")
        return 0
    rows = [[u.username, u.role, "disabled" if u.disabled else "active", _when(u.created_at), u.id] for u in found]
    print(_table(rows, ["USERNAME", "ROLE", "STATE", "CREATED", "ID"]))
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """Set a new password for NAME; the account's logins end at once."""
    from chatkiosk.cli import _read_password

    password = _read_password(args)

    async def work(runtime: Any) -> Any:
        user = await _user_named(runtime, args.name)
        await runtime.accounts.reset_password(user.id, password)
        return user

    user = _run(work)
    print(f"new password set for {user.username}; their sessions were signed out")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable NAME (or enable it again with --enable)."""

    async def work(runtime: Any) -> Any:
        user = await _user_named(runtime, args.name)
        return await runtime.accounts.set_disabled(user.id, not args.enable)

    user = _run(work)
    if args.enable:
        print(f"enabled {user.username}")
    else:
        print(f"disabled {user.username}: their sessions and API keys stopped working")
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    """USER's live API keys (never the secrets: only their first characters)."""
    from chatkiosk.store import api_keys

    async def work(runtime: Any) -> list[Any]:
        user = await _user_named(runtime, args.user)
        async with runtime.db.read() as session:
            return await api_keys.list_for_user(session, user.id)

    keys = _run(work)
    if not keys:
        print(f"{args.user} has no API keys (create one: chatkiosk key create {args.user})")
        return 0
    rows = [[k.id, k.name, f"{k.prefix}…", _when(k.created_at), _when(k.last_used_at)] for k in keys]
    print(_table(rows, ["ID", "NAME", "KEY", "CREATED", "LAST USED"]))
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    """Revoke the API key with this id (from `key list`)."""
    from chatkiosk.store import api_keys

    async def work(runtime: Any) -> bool:
        async with runtime.db.write() as session:
            return await api_keys.revoke(session, args.id)

    if not _run(work):
        raise ChatkioskError(f"no live API key with id {args.id!r} (see: chatkiosk key list USER)")
    print(f"revoked {args.id}")
    return 0


def add_account_commands(user_sub: Any, key_sub: Any) -> None:
    """Register `user list|passwd|disable` and `key list|revoke` on the parser."""
    user_sub.add_parser("list", help="list every account").set_defaults(func=cmd_user_list)
    passwd = user_sub.add_parser("passwd", help="set a new password (from the prompt or stdin); ends the user's sessions")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=cmd_user_passwd)
    disable = user_sub.add_parser("disable", help="disable an account: its sessions and API keys stop working")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable the account again")
    disable.set_defaults(func=cmd_user_disable)

    listing = key_sub.add_parser("list", help="list USER's API keys")
    listing.add_argument("user")
    listing.set_defaults(func=cmd_key_list)
    revoke = key_sub.add_parser("revoke", help="revoke an API key by its id")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_key_revoke)
