"""`chatkiosk shop import FILE.csv|FILE.jsonl [--dry-run]`: orders from the shop's own system.

Every row is checked before anything is written — the shape, the customer, the order number
(unique in the file and in the database) — and the orders are then stored in one transaction:
a file with a bad row imports nothing, and says which rows are wrong and why.

CSV: one row per order line, with the header
    number,username,status,sku,name,quantity,unit_price,carrier,tracking_number
(`user_id` may stand in for `username`); rows that share a number are the lines of one order.
JSONL: one order per line,
    {"number": "A-1001", "username": "demo", "status": "shipped", "items": [{"name": …, "quantity": 1, "unit_price": 12000}], …}
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from chatkiosk.errors import UserError
from chatkiosk.store import shop, users
from chatkiosk.store.db import Database

from .models import OrderIn

MAX_FILE_BYTES = 50_000_000
ORDER_FIELDS = ("status", "carrier", "tracking_number")
LINE_FIELDS = ("sku", "name", "quantity", "unit_price")


class ImportRefused(UserError):
    """The file cannot be imported; `errors` holds one line per bad row."""

    code = "import_refused"

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} row(s) are wrong; nothing was imported")
        self.errors = errors


@dataclass(slots=True)
class Draft:
    """One order as read from the file, before it is checked: where it came from, and its fields."""

    where: str
    who: str  # username or user id
    fields: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    orders: int
    items: int
    customers: int
    dry_run: bool


def read_file(path: Path) -> tuple[list[Draft], list[str]]:
    """The orders in a .csv or .jsonl file, and the rows that could not even be read."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; split it")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    if suffix == ".csv":
        return _read_csv(text)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text)
    raise UserError(f"{path}: use a .csv or .jsonl file")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_csv(text: str) -> tuple[list[Draft], list[str]]:
    reader = csv.DictReader(text.splitlines())
    header = set(reader.fieldnames or [])
    missing = {"name", "quantity", "unit_price"} - header
    if missing or not ({"username", "user_id"} & header):
        need = sorted(missing | ({"username"} if not ({"username", "user_id"} & header) else set()))
        raise UserError(f"the CSV header lacks {', '.join(need)}")
    drafts: dict[str, Draft] = {}
    loose: list[Draft] = []
    errors: list[str] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            errors.append(f"{where}: more fields than the header has")
            continue
        who = (row.get("username") or row.get("user_id") or "").strip()
        line = {k: row[k].strip() for k in LINE_FIELDS if k in row and not _blank(row[k])}
        fields = {k: row[k].strip() for k in ORDER_FIELDS if k in row and not _blank(row[k])}
        number = (row.get("number") or "").strip()
        if not number:
            loose.append(Draft(where, who, fields, [line]))
            continue
        draft = drafts.get(number)
        if draft is None:
            drafts[number] = Draft(where, who, {**fields, "number": number}, [line])
            continue
        if draft.who != who or any(draft.fields.get(k) != v for k, v in fields.items()):
            errors.append(f"{where}: order {number} has another customer, status or carrier than on {draft.where}")
            continue
        draft.items.append(line)
    return [*drafts.values(), *loose], errors


def _read_jsonl(text: str) -> tuple[list[Draft], list[str]]:
    drafts: list[Draft] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            value = json.loads(raw)
        except ValueError as exc:
            errors.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            errors.append(f"{where}: must be a JSON object")
            continue
        who = value.pop("username", None) or value.pop("user_id", None) or ""
        items = value.pop("items", None)
        if not isinstance(items, list):
            errors.append(f"{where}: items must be a list of order lines")
            continue
        drafts.append(Draft(where, str(who).strip(), value, items))
    return drafts, errors


def _validation_errors(where: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "user_id") or "order"
        out.append(f"{where}: {loc}: {err.get('msg', 'invalid')}")
    return out


async def import_orders(
    db: Database, path: Path, *, dry_run: bool = False, progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Check every row of the file, then store all its orders in one transaction (none with `dry_run`).

    Raises `ImportRefused` (with one message per bad row) and writes nothing when any row is wrong.
    """
    drafts, errors = read_file(path)
    if progress:
        progress(f"read {len(drafts)} order(s) from {path.name}")
    async with db.read() as session:
        owners: dict[str, str | None] = {}
        for who in {d.who for d in drafts if d.who}:
            user = await users.get(session, who) or await users.by_username(session, who)
            owners[who] = user.id if user is not None else None
        wanted = [str(d.fields.get("number")) for d in drafts if d.fields.get("number")]
        taken = await shop.numbers_taken(session, wanted)
    checked: list[OrderIn] = []
    seen: dict[str, str] = {}
    for draft in drafts:
        if not draft.who:
            errors.append(f"{draft.where}: username is missing")
            continue
        owner = owners.get(draft.who)
        if owner is None:
            errors.append(f"{draft.where}: unknown user {draft.who!r}")
            continue
        try:
            order = OrderIn.model_validate({**draft.fields, "user_id": owner, "items": draft.items})
        except ValidationError as exc:
            errors.extend(_validation_errors(draft.where, exc))
            continue
        if order.number:
            if order.number in taken:
                errors.append(f"{draft.where}: order number {order.number} already exists")
                continue
            if order.number in seen:
                errors.append(f"{draft.where}: order number {order.number} is also on {seen[order.number]}")
                continue
            seen[order.number] = draft.where
        checked.append(order)
    if errors:
        raise ImportRefused(sorted(errors, key=_line_key))
    report = ImportReport(len(checked), sum(len(o.items) for o in checked), len({o.user_id for o in checked}), dry_run)
    if dry_run:
        return report
    try:
        async with db.write() as session:
            for order in checked:
                session.add(shop.build_order(
                    user_id=order.user_id, status=order.status, number=order.number,
                    items=[i.model_dump(exclude_none=True) for i in order.items], total=order.total(),
                    carrier=order.carrier, tracking_number=order.tracking_number,
                ))
    except IntegrityError:  # a number taken (or a customer deleted) meanwhile: all rolled back
        raise ImportRefused(["the database changed while importing (an order number was taken); run it again"]) from None
    return report


def _line_key(message: str) -> tuple[int, str]:
    head = message.split(":", 1)[0]
    digits = "".join(c for c in head if c.isdigit())
    return (int(digits) if digits else 0, message)
