"""SECURITY 21 (for what exists now): no password, token, key or PII in a log line."""

from __future__ import annotations

import io
import json
import logging

from chatkiosk.logs import JsonFormatter
from chatkiosk.redact import mask_pii, redact

from .conftest import PASSWORD


async def test_logs_hold_no_secrets_after_a_session_with_errors(api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        user = await api.signup("logged")
        key = (await api.client.post("/api/keys", headers=user["headers"], json={"name": "k"})).json()["key"]
        await api.client.post("/api/auth/login", json={"username": "logged", "password": "wrong-" + PASSWORD})
        await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"})
        await api.client.get("/api/nowhere", headers=user["headers"])
        await api.client.post("/api/conversations", headers=user["headers"], json={"title": "x" * 500})
        logging.getLogger("chatkiosk.test").info("user wrote 900101-1234567 and 4111 1111 1111 1111, a@b.com, token %s", user["access_token"])
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert text, "nothing was logged"
    for secret in (PASSWORD, user["access_token"], user["refresh_token"], key, "900101-1234567", "4111 1111 1111 1111", "a@b.com"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line.get("request_id") for line in lines)


def test_redaction_patterns():
    assert redact("Authorization: Bearer abc.def.ghijkl") == "Authorization: Bearer [REDACTED]"
    assert "sk-proj-" not in redact("key sk-proj-abcdefghijklmnopqrstuv")
    assert mask_pii("call 010-1234-5678") == "call [PHONE]"
    assert mask_pii("card 4111-1111-1111-1111") == "card [CARD]"
    assert mask_pii("order 1234567890123") == "order 1234567890123"  # not Luhn-valid: left alone
    assert mask_pii("rrn 900101-1234567") == "rrn [RRN]"


async def test_metrics_and_error_bodies_hold_no_secrets_or_pii(make_api):
    """SECURITY 21: metric labels and error bodies, after errors and refusals."""
    from chatkiosk.errors import UpstreamError
    from chatkiosk.llm.fake import ScriptedProvider

    provider_key = "sk-provider-secret-0123456789abcdef"
    llm = ScriptedProvider([UpstreamError(f"upstream said no (key {provider_key[:6]}…)", retryable=False)])
    api = await make_api(providers={"s": llm}, messages_per_window=2)
    admin = await api.signup(admin=True)
    user = await api.signup()
    pii = "my card 4111 1111 1111 1111 and phone 010-1234-5678"
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={"title": "t"})).json()["id"]
    bodies = [
        await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": pii}),
        await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": pii}),
        await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": pii}),
        await api.client.post("/api/auth/login", json={"username": user["username"], "password": "wrong-" + PASSWORD}),
        await api.client.get("/api/auth/me", headers={"Authorization": "Bearer " + user["refresh_token"]}),
    ]
    metrics = (await api.client.get("/metrics", headers=admin["headers"])).text
    for text in [metrics, *(r.text for r in bodies)]:
        for secret in (PASSWORD, user["access_token"], user["refresh_token"], provider_key, "4111 1111 1111 1111", "010-1234-5678"):
            assert secret not in text
    assert 'chatkiosk_rate_limit_rejections_total{limit="messages"}' in metrics


def test_identifiers_are_not_scrubbed_but_values_are():
    """Issue 13 item 12: hex request ids keep matching X-Request-Id; real PII is still masked."""
    import random

    rng = random.Random(13)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(20_000)]
    changed = [i for i in ids if redact(i) != i]
    assert changed == [], f"{len(changed)} of {len(ids)} ids were scrubbed, e.g. {changed[:3]}"
    for ident in ("9f4111111111111111ab", "c01012345678e3", "conv_4111111111111111", "msg_01012345678"):
        assert redact(ident) == ident
    # Values stay masked, also next to Korean or Chinese text and punctuation.
    assert mask_pii("전화01012345678로 주세요") == "전화[PHONE]로 주세요"
    assert mask_pii("卡号4111111111111111。") == "卡号[CARD]。"
    assert mask_pii('{"phone": "010-1234-5678", "card": "4111 1111 1111 1111"}') == '{"phone": "[PHONE]", "card": "[CARD]"}'
    assert mask_pii("call (555) 123-4567 now") == "call [PHONE] now"


def test_a_log_line_keeps_its_request_id():
    from chatkiosk.logs import request_id_var

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("chatkiosk.test.ids")
    log.addHandler(handler)
    log.propagate = False
    request_id = "7e4111111111111111d2a0c01012345678ff"
    token = request_id_var.set(request_id)
    try:
        log.warning("request done", extra={"conversation_id": "conv_01012345678"})
    finally:
        request_id_var.reset(token)
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["request_id"] == request_id
    assert line["conversation_id"] == "conv_01012345678"


def test_each_field_is_scrubbed_and_a_nested_one_with_the_whole_line():
    """Issue 16: the JSON formatter scrubs field by field (a line costs a few µs, not ~50): a field
    named like a secret is withheld whatever it holds, a phone number passed as a number is masked,
    and a record with a nested value is still scrubbed as a whole."""
    record = logging.makeLogRecord({
        "name": "chatkiosk.test", "levelno": logging.INFO, "levelname": "INFO",
        "msg": "card %s", "args": ("4111 1111 1111 1111",),
        "password": PASSWORD, "refresh_token": 12345, "phone": 1012345678, "max_tokens": 100, "route": "/api/keys/{key_id}",
    })
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "card [CARD]"
    assert line["password"] == line["refresh_token"] == "[REDACTED]"
    assert line["phone"] == "[PHONE]" and line["max_tokens"] == 100 and line["route"] == "/api/keys/{key_id}"
    record.details = {"who": "a@b.com", "key": "ck-" + "x" * 20}
    text = JsonFormatter().format(record)
    assert "a@b.com" not in text and "x" * 20 not in text and "4111 1111" not in text and PASSWORD not in text
