"""`chatkiosk shop import`: a good file imports, a file with bad rows imports nothing and names
every bad row, a dry run writes nothing; on SQLite and PostgreSQL, and as a user runs the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chatkiosk.agents.shop.importer import ImportRefused, import_orders

GOOD_CSV = """number,username,status,sku,name,quantity,unit_price,carrier,tracking_number
A-1001,{alice},shipped,MUG-01,Ceramic mug,2,12000,CJ,6301
A-1001,{alice},shipped,,Tea sampler,1,9500,CJ,6301
B-2002,{bob},paid,TEA-9,Green tea,3,8000,,
,{alice},delivered,,Gift card,1,50000,,
"""

BAD_CSV = """number,username,status,sku,name,quantity,unit_price,carrier,tracking_number
C-1,{alice},paid,,Mug,1,12000,,
C-2,nobody,paid,,Mug,1,12000,,
C-3,{alice},lost,,Mug,1,12000,,
C-4,{alice},paid,,Mug,0,12000,,
C-1,{bob},paid,,Mug,1,12000,,
"""


async def _orders(api, user):
    return (await api.client.get("/api/shop/orders", headers=user["headers"])).json()["data"]


async def test_a_good_csv_file_imports_every_order(shop, tmp_path):
    api = shop.api
    alice, bob = await api.signup(), await api.signup()
    path = tmp_path / "orders.csv"
    path.write_text(GOOD_CSV.format(alice=alice["username"], bob=bob["username"]), encoding="utf-8")
    report = await import_orders(api.runtime.db, path)
    assert (report.orders, report.items, report.customers) == (3, 4, 2)
    mine = {o["number"]: o for o in await _orders(api, alice)}
    assert mine["A-1001"]["total"] == 33500 and len(mine["A-1001"]["items"]) == 2 and mine["A-1001"]["tracking_number"] == "6301"
    assert any(o["status"] == "delivered" and o["total"] == 50000 for o in mine.values())
    assert [o["number"] for o in await _orders(api, bob)] == ["B-2002"]


async def test_a_file_with_bad_rows_imports_nothing_and_names_each_row(shop, tmp_path):
    api = shop.api
    alice, bob = await api.signup(), await api.signup()
    await shop.order(alice, number="TAKEN-1")
    path = tmp_path / "orders.csv"
    path.write_text(BAD_CSV.format(alice=alice["username"], bob=bob["username"]), encoding="utf-8")
    with pytest.raises(ImportRefused) as caught:
        await import_orders(api.runtime.db, path)
    errors = caught.value.errors
    assert any(e.startswith("line 3:") and "unknown user 'nobody'" in e for e in errors), errors
    assert any(e.startswith("line 4:") and "status" in e for e in errors), errors
    assert any(e.startswith("line 5:") and "quantity" in e for e in errors), errors
    assert any(e.startswith("line 6:") and "C-1" in e for e in errors), errors
    assert len(errors) == 4
    assert [o["number"] for o in await _orders(api, alice)] == ["TAKEN-1"]  # C-1, valid alone, was not imported
    lines = [json.dumps({"number": "TAKEN-1", "username": alice["username"], "items": [{"name": "x", "quantity": 1, "unit_price": 1}]}),
             "{not json", json.dumps({"number": "J-2", "username": alice["username"], "items": "none"})]
    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as caught:
        await import_orders(api.runtime.db, jsonl)
    assert [e.split(":")[0] for e in caught.value.errors] == ["line 1", "line 2", "line 3"]
    assert "already exists" in caught.value.errors[0]


async def test_a_dry_run_checks_everything_and_writes_nothing(shop, tmp_path):
    api = shop.api
    alice = await api.signup()
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps({"number": "D-1", "username": alice["username"], "status": "preparing",
                                "items": [{"name": "Mug", "quantity": 1, "unit_price": 12000}]}) + "\n", encoding="utf-8")
    report = await import_orders(api.runtime.db, path, dry_run=True)
    assert report.orders == 1 and report.dry_run
    assert await _orders(api, alice) == []
    await import_orders(api.runtime.db, path)
    assert [o["number"] for o in await _orders(api, alice)] == ["D-1"]


def _cli(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path / "data"), "CHATKIOSK_ENVIRONMENT": "test"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "chatkiosk", *args], input=stdin, capture_output=True, text=True, env=env, timeout=90)


def test_the_command_reports_rows_and_exits_non_zero_on_bad_files(tmp_path):
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    assert _cli(tmp_path, "user", "add", "alice", "--password-stdin", stdin="alice-password-2026\n").returncode == 0
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV.format(alice="alice", bob="alice"), encoding="utf-8")
    r = _cli(tmp_path, "shop", "import", str(good), "--dry-run")
    assert r.returncode == 0 and "would import 3 order(s)" in r.stdout and "nothing was written" in r.stdout, r.stderr
    r = _cli(tmp_path, "shop", "import", str(good))
    assert r.returncode == 0 and "imported 3 order(s), 4 line(s), for 1 customer(s)" in r.stdout, r.stderr
    r = _cli(tmp_path, "shop", "import", str(good))  # the same numbers again
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "line 2: order number A-1001 already exists" in r.stderr and "nothing was imported" in r.stderr
    for name, text, message in (("orders.txt", "x", "use a .csv or .jsonl file"), ("h.csv", "a,b\n1,2\n", "header lacks"),
                                ("missing.csv", None, "no such file")):
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        r = _cli(tmp_path, "shop", "import", str(path))
        assert r.returncode == 1 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
