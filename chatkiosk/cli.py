"""The `chatkiosk` command: serve, migrate, manage users and keys, ingest documents.

Errors are one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from chatkiosk.config import Settings
from chatkiosk.errors import ChatkioskError


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> int:
    print(f"chatkiosk: {message}", file=sys.stderr)
    return code


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ChatkioskError("the passwords differ")
    return first


async def _with_runtime(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
    from chatkiosk.runtime import Runtime

    runtime = Runtime.build(settings)
    try:
        return await work(runtime)
    finally:
        await runtime.close()


async def upgrade_database(settings: Settings) -> None:
    from chatkiosk.store.db import Database
    from chatkiosk.store.migrate import upgrade

    db = Database(settings.resolved_database_url)
    try:
        await upgrade(db)
    finally:
        await db.close()


async def ensure_demo_user(settings: Settings) -> bool:
    """Create the demo account unless it exists, give it shop orders, and (re)seed the shared demo documents; True when the account was created."""
    from chatkiosk.agents.shop.demo import seed_demo_orders
    from chatkiosk.knowledge.demo import seed_demo_documents
    from chatkiosk.store import users

    async def work(runtime: Any) -> bool:
        await seed_demo_documents(runtime.knowledge)
        async with runtime.db.read() as session:
            user = await users.by_username(session, settings.demo_username)
        created = user is None
        if user is None:
            user = await runtime.accounts.register(settings.demo_username, settings.demo_password.get_secret_value(), None)
        await seed_demo_orders(runtime.shop, user.id)  # a few shop orders in different states
        return created

    return await _with_runtime(settings, work)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(upgrade_database(settings))
    print(f"database is up to date ({settings.resolved_database_url.split('://')[0]})")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    settings = _settings()
    password = _read_password(args)

    async def work(runtime: Any) -> Any:
        return await runtime.accounts.register(args.name, password, args.email, role="admin" if args.admin else "user")

    user = asyncio.run(_with_runtime(settings, work))
    print(f"created {user.role} {user.username} ({user.id})")
    return 0


def cmd_key_create(args: argparse.Namespace) -> int:
    from chatkiosk.store import users

    settings = _settings()

    async def work(runtime: Any) -> str:
        async with runtime.db.read() as session:
            user = await users.by_username(session, args.user)
        if user is None:
            raise ChatkioskError(f"no user named {args.user!r}")
        _, secret = await runtime.accounts.create_key(user.id, args.name)
        return secret

    print(asyncio.run(_with_runtime(settings, work)))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatkiosk.knowledge.batch import collect_files, ingest_files
    from chatkiosk.store import users

    if not args.shared and not args.user:
        raise ChatkioskError("say whose documents these are: --user NAME, or --shared for everyone")
    settings = _settings()
    files = collect_files(Path(p) for p in args.paths)
    if not files:
        raise ChatkioskError("no Markdown, text, HTML or PDF files found")

    async def work(runtime: Any) -> Any:
        owner_id = None
        if args.user:
            async with runtime.db.read() as session:
                user = await users.by_username(session, args.user)
            if user is None:
                raise ChatkioskError(f"no user named {args.user!r}")
            owner_id = user.id
        return await ingest_files(runtime.knowledge, files, owner_id=owner_id, visibility="shared" if args.shared else "private")

    report = asyncio.run(_with_runtime(settings, work))
    for path, reason in report.failures:
        print(f"chatkiosk: {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failures else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatkiosk import serving
    from chatkiosk.app import create_app
    from chatkiosk.logs import configure

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings(**overrides)
    configure(settings.log_level, settings.log_json)
    if args.migrate:
        asyncio.run(upgrade_database(settings))
    if args.demo:
        asyncio.run(ensure_demo_user(settings))
    url = f"http://{settings.host}:{settings.port}/"
    print(f"\n  chatkiosk is starting at {url}", flush=True)
    if args.demo:
        print(f"  demo login: {settings.demo_username} / {settings.demo_password.get_secret_value()}", flush=True)
    print(flush=True)
    serving.run(create_app(settings), settings)
    return 0


def cmd_shop_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatkiosk.agents.shop.importer import ImportRefused, import_orders

    settings = _settings()

    async def work(runtime: Any) -> Any:
        return await import_orders(runtime.db, Path(args.file), dry_run=args.dry_run, progress=lambda line: print(line, flush=True))

    try:
        report = asyncio.run(_with_runtime(settings, work))
    except ImportRefused as exc:
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return _fail(exc.message)
    verb = "would import" if report.dry_run else "imported"
    print(f"{verb} {report.orders} order(s), {report.items} line(s), for {report.customers} customer(s)"
          + (" (dry run: nothing was written)" if report.dry_run else ""))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from chatkiosk.terminal import run

    return run(args.url, args.api_key, args.user, args.conversation, args.agent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatkiosk", description="A self-hosted conversational agent server.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--demo", action="store_true", help="create the demo user and print its login")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user (password from the prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_user_add)

    key = sub.add_parser("key", help="manage API keys")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    create = key_sub.add_parser("create", help="create an API key for USER and print it")
    create.add_argument("user")
    create.add_argument("--name", default="cli")
    create.set_defaults(func=cmd_key_create)

    shop = sub.add_parser("shop", help="the online shop's data")
    shop_sub = shop.add_subparsers(dest="shop_command", required=True)
    imp = shop_sub.add_parser("import", help="import orders from the shop's system (.csv or .jsonl); all or nothing")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    imp.set_defaults(func=cmd_shop_import)

    ingest = sub.add_parser("ingest", help="add files or folders to the knowledge base")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="Markdown, text, HTML or PDF files, or folders of them")
    ingest.add_argument("--shared", action="store_true", help="shared documents everyone searches")
    ingest.add_argument("--user", metavar="NAME", help="the owner (private documents unless --shared)")
    ingest.set_defaults(func=cmd_ingest)

    chat = sub.add_parser("chat", help="chat with a server in the terminal (answers stream in)")
    chat.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default http://127.0.0.1:8000)")
    who = chat.add_mutually_exclusive_group()
    who.add_argument("--api-key", help="an API key (or set CHATKIOSK_API_KEY)")
    who.add_argument("--user", help="sign in as USER (the password is prompted for)")
    which = chat.add_mutually_exclusive_group()
    which.add_argument("--conversation", metavar="ID", help="continue this conversation")
    which.add_argument("--agent", metavar="NAME", help="start a new conversation with this agent (default assistant)")
    chat.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ChatkioskError as exc:
        return _fail(exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        return _fail(f"bad setting {'.'.join(map(str, first['loc']))}: {first['msg']}")
    except OSError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("CHATKIOSK_DEBUG"):
            raise
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
