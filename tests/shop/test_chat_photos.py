"""Photos sent in chat to the shop agent: the native API's `images` and OpenAI's `image_url` parts.

The photo is checked and cleaned like an upload to a ticket; a model that sees images gets it as
an image part, any other a note; it is kept with the conversation (the message holds a
reference, never the bytes) and filed with the ticket the agent files. Another customer gets 404.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.fake import ScriptedProvider, tool_call
from chatkiosk.llm.openai_compat import OpenAICompatProvider
from chatkiosk.store.attachments import TicketAttachment
from chatkiosk.store.tables import Message

from ..fake_upstream import FakeUpstream, Reply
from .conftest import Shop


def _image(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (37.0, 33.0, 59.0), 4: (126.0, 58.0, 41.0)}  # GPS: where the customer lives
    return _image("JPEG", (80, 40), exif=exif.tobytes(), comment=b"home address: 12 Example-ro")


def _data_url(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _ticket_call(order: str | None = "A-1001") -> Any:
    arguments = {"issue_type": "damaged", "description": "The mug arrived in pieces."}
    if order:
        arguments["order"] = order
    return tool_call("create_ticket", arguments)


async def _send(shop: Shop, user: dict, cid: str, text: str, images: list[str]) -> Any:
    return await shop.api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"],
                                      json={"content": text, "images": [{"url": u} for u in images]})


async def _rows(shop: Shop, model: Any, *where: Any) -> list[Any]:
    async with shop.api.runtime.db.read() as session:
        return list(await session.scalars(select(model).where(*where)))


async def _photos_of(shop: Shop, user: dict, ticket_id: str) -> list[dict]:
    r = await shop.api.client.get(f"/api/shop/tickets/{ticket_id}/attachments", headers=user["headers"])
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_a_photo_reaches_a_model_that_sees_and_is_filed_with_the_ticket_it_files(shop: Shop) -> None:
    api, llm = shop.api, shop.llm
    alice, bob = await api.signup(), await api.signup()
    await shop.order(alice, "delivered", number="A-1001")
    cid = await shop.conversation(alice)
    llm.add(_ticket_call(), "I filed a ticket with your photo.")
    original = _jpeg_with_gps()
    r = await _send(shop, alice, cid, "Look at what came out of the box today", [_data_url(original)])
    assert r.status_code == 200, r.text
    answer = r.json()["message"]
    assert answer["content"] == "I filed a ticket with your photo." and answer["status"] == "complete"

    # The model got the photo as an image part: the cleaned bytes, not what was sent.
    (seen,) = llm.calls[0].images
    assert seen.startswith("data:image/jpeg;base64,")
    cleaned = base64.b64decode(seen.split(",", 1)[1])
    assert cleaned != original and b"SecretCam" not in cleaned and b"Example-ro" not in cleaned and b"Exif" not in cleaned
    assert Image.open(io.BytesIO(cleaned)).size == (80, 40)
    last = llm.calls[0].messages[-1]
    assert last["role"] == "user" and [p["type"] for p in last["content"]] == ["text", "image_url"]
    assert last["content"][0]["text"].startswith("Look at what came out") and "1 photo" in last["content"][0]["text"]

    # Filed with the ticket the tool filed, and listed and served on it.
    (call,) = answer["tool_calls"]
    ticket_id = call["result"]["ticket"]["id"]
    (photo_id,) = call["result"]["photos"]["filed"]
    listed = await _photos_of(shop, alice, ticket_id)
    assert [p["id"] for p in listed] == [photo_id] and listed[0]["content_type"] == "image/jpeg"
    served = await api.client.get(listed[0]["url"], headers=alice["headers"])
    assert served.status_code == 200 and served.content == cleaned
    staff = await api.client.get(listed[0]["url"], headers=shop.admin["headers"])
    assert staff.status_code == 200

    # The history keeps a reference, never the bytes.
    history = (await api.client.get(f"/api/conversations/{cid}/messages", headers=alice["headers"])).json()["data"]
    user_message = next(m for m in history if m["role"] == "user")
    (ref,) = user_message["attachments"]
    assert ref["id"] == photo_id and (ref["width"], ref["height"]) == (80, 40)
    assert (await api.client.get(ref["url"], headers=alice["headers"])).content == cleaned
    stored = await _rows(shop, Message, Message.conversation_id == cid)
    assert all("base64" not in json.dumps([m.content, m.attachments, m.tool_calls]) for m in stored)

    # SECURITY 11: Bob gets 404 for Alice's photo by every path, his own conversation's too.
    bobs = await shop.conversation(bob)
    for path in (ref["url"], f"/api/conversations/{bobs}/attachments/{photo_id}", listed[0]["url"],
                 f"/api/shop/tickets/{ticket_id}/attachments"):
        assert (await api.client.get(path, headers=bob["headers"])).status_code == 404, path
    assert (await api.client.get(ref["url"])).status_code == 401


async def test_a_model_that_cannot_see_gets_a_note_and_the_photo_waits_for_the_ticket(make_api: Any) -> None:
    llm = ScriptedProvider(supports_images=False)
    api = await make_api(providers={"scripted": llm})
    shop = Shop(api, llm, await api.signup(admin=True))
    alice = await api.signup()
    await shop.order(alice, "delivered", number="A-1001")
    cid = await shop.conversation(alice)
    llm.add("Which order is it about?")
    r = await _send(shop, alice, cid, "Look at this", [_data_url(_image("PNG"), "image/png")])
    assert r.status_code == 200, r.text
    assert llm.calls[0].images == []
    note = llm.calls[0].last_user_text
    assert note.startswith("Look at this") and "1 photo" in note and "cannot see" in note and "PNG 64×48" in note
    (kept,) = await _rows(shop, TicketAttachment, TicketAttachment.conversation_id == cid)
    assert kept.ticket_id is None and kept.user_id == alice["id"] and kept.content_type == "image/png"

    # The next turn files the ticket: the photo waiting in the conversation goes with it.
    llm.add(_ticket_call(), "Filed.")
    answer = (await api.client.post(f"/api/conversations/{cid}/messages", headers=alice["headers"],
                                    json={"content": "The mug is in pieces, please file it"})).json()
    history_text = json.dumps(llm.calls[1].messages, ensure_ascii=False)
    assert "Look at this" in history_text and "1 photo" in history_text and "base64" not in history_text
    ticket_id = answer["message"]["tool_calls"][0]["result"]["ticket"]["id"]
    assert [p["id"] for p in await _photos_of(shop, alice, ticket_id)] == [kept.id]


async def test_the_rules_file_the_photo_with_a_new_or_a_named_ticket(shop: Shop) -> None:
    api = shop.api
    alice = await api.signup()
    await shop.order(alice, "delivered", number="A-1001")
    cid = await shop.conversation(alice)
    r = await _send(shop, alice, cid, "My order A-1001 arrived damaged", [_data_url(_image())])
    answer = r.json()
    assert answer["usage"]["llm"] is False and shop.llm.calls == []
    (call,) = answer["message"]["tool_calls"]
    ticket_id = call["result"]["ticket"]["id"]
    assert call["name"] == "create_ticket" and len(await _photos_of(shop, alice, ticket_id)) == 1
    assert f"added 1 photo(s) to ticket {ticket_id}" in answer["message"]["content"]

    # A later photo about the ticket the customer names is added to it.
    r = await _send(shop, alice, cid, f"사진 하나 더 보내요 {ticket_id}", [_data_url(_image("WEBP"), "image/webp")])
    answer = r.json()
    (call,) = answer["message"]["tool_calls"]
    assert call["name"] == "attach_photos" and answer["usage"]["llm"] is False
    assert f"사진 1장을 문의 {ticket_id}에 첨부했어요" in answer["message"]["content"]
    assert [p["content_type"] for p in await _photos_of(shop, alice, ticket_id)] == ["image/jpeg", "image/webp"]


async def test_the_model_files_a_photo_with_an_existing_ticket(shop: Shop) -> None:
    api, llm = shop.api, shop.llm
    alice, bob = await api.signup(), await api.signup()
    cid = await shop.conversation(alice)
    ticket = (await api.client.post("/api/shop/tickets", headers=alice["headers"],
                                    json={"issue_type": "damaged", "description": "Broken"})).json()
    bobs_ticket = (await api.client.post("/api/shop/tickets", headers=bob["headers"],
                                         json={"issue_type": "other", "description": "Bob's"})).json()
    # The model tries Bob's ticket first: not found, and nothing is filed there.
    llm.add(tool_call("attach_photos", {"ticket_id": bobs_ticket["id"]}), tool_call("attach_photos", {"ticket_id": ticket["id"]}), "Added.")
    r = await _send(shop, alice, cid, "here is the picture I promised for my earlier complaint", [_data_url(_image())])
    first, second = r.json()["message"]["tool_calls"]
    assert first["status"] == "error" and "no such ticket" in first["result"]["error"]["message"]
    assert second["status"] == "ok" and len(second["result"]["photos"]["filed"]) == 1
    assert len(await _photos_of(shop, alice, ticket["id"])) == 1
    assert await _photos_of(shop, bob, bobs_ticket["id"]) == []


async def test_openai_image_parts_reach_the_model_and_are_filed(shop: Shop) -> None:
    api, llm = shop.api, shop.llm
    alice = await api.signup()
    await shop.order(alice, "delivered", number="A-1001")
    photo = _data_url(_image("PNG"), "image/png")
    content = [{"type": "text", "text": "what do you think of this, A-1001?"}, {"type": "image_url", "image_url": {"url": photo}}]

    # Unbound (ephemeral): the photo is stored only once filed with the ticket.
    llm.add(_ticket_call(), "Ticket filed with your photo.")
    r = await api.client.post("/v1/chat/completions", headers=alice["headers"], json={
        "model": "shop", "messages": [{"role": "user", "content": content}]})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Ticket filed with your photo."
    (seen,) = llm.calls[0].images
    assert Image.open(io.BytesIO(base64.b64decode(seen.split(",", 1)[1]))).format == "PNG"
    (ticket,) = (await api.client.get("/api/shop/tickets", headers=alice["headers"])).json()["data"]
    assert len(await _photos_of(shop, alice, ticket["id"])) == 1

    # Bound to a conversation (Open WebUI sends every earlier photo again): the last message's
    # photo is this turn's and is kept there; earlier ones are only a note.
    llm.add("Thanks, noted.")
    r = await api.client.post("/v1/chat/completions", headers={**alice["headers"], "X-Conversation-Id": "owui-1"}, json={
        "model": "shop", "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "?"},
                                      {"role": "user", "content": content}]})
    assert r.status_code == 200, r.text
    assert len(llm.calls[2].images) == 1
    (kept,) = await _rows(shop, TicketAttachment, TicketAttachment.user_id == alice["id"], TicketAttachment.ticket_id.is_(None))
    assert kept.conversation_id is not None

    # Ephemeral with history: the earlier photo becomes a note, the last one the image part.
    llm.add("Seen.")
    r = await api.client.post("/v1/chat/completions", headers=alice["headers"], json={
        "model": "shop", "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "?"},
                                      {"role": "user", "content": content}]})
    assert r.status_code == 200, r.text
    call = llm.calls[3]
    assert len(call.images) == 1 and "1 photo" in call.messages[1]["content"]


@pytest.mark.parametrize("url, status, code", [
    (_data_url(_image("GIF"), "image/gif"), 415, "unsupported_media_type"),
    (_data_url(b"<html><script>alert(1)</script></html>", "image/png"), 415, "unsupported_media_type"),
    (_data_url(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, "image/png"), 422, "unreadable_image"),
    ("https://example.com/cat.png", 422, "image_url_not_allowed"),
    ("data:image/png,notbase64", 422, "invalid_image_url"),
    ("data:image/png;base64,@@@@", 422, "invalid_image_url"),
])
async def test_bad_photos_are_refused_and_nothing_is_stored(shop: Shop, url: str, status: int, code: str) -> None:
    api = shop.api
    alice = await api.signup()
    cid = await shop.conversation(alice)
    r = await _send(shop, alice, cid, "look", [url])
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["param"] == "images.0"
    assert await _rows(shop, Message, Message.conversation_id == cid) == []
    assert await _rows(shop, TicketAttachment, TicketAttachment.user_id == alice["id"]) == []
    # The OpenAI API says the same of its messages, in its own status for a bad value.
    r = await api.client.post("/v1/chat/completions", headers=alice["headers"], json={"model": "shop", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]}]})
    assert r.status_code == (400 if status == 422 else status), r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["param"] == "messages"
    assert shop.llm.calls == []


async def test_size_count_and_agent_limits(make_api: Any) -> None:
    llm = ScriptedProvider()
    api = await make_api(providers={"scripted": llm}, attachment_max_bytes=100_000, attachment_max_pixels=1_000_000,
                         chat_photos_per_message=2)
    shop = Shop(api, llm, await api.signup(admin=True))
    alice = await api.signup()
    cid = await shop.conversation(alice)
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 90).convert("RGB").save(noisy, "PNG")
    r = await _send(shop, alice, cid, "look", [_data_url(noisy.getvalue(), "image/png")])
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    assert "0.1 MB" in r.json()["error"]["message"]
    bomb = _data_url(_image("PNG", (3000, 3000)), "image/png")  # a small file, 9 megapixels
    r = await _send(shop, alice, cid, "look", [bomb])
    assert r.status_code == 413 and "megapixels" in r.json()["error"]["message"]
    r = await _send(shop, alice, cid, "look", [_data_url(_image())] * 3)
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_photos"
    assistant = (await api.client.post("/api/conversations", headers=alice["headers"], json={"agent": "assistant"})).json()["id"]
    r = await _send(shop, alice, assistant, "look", [_data_url(_image())])
    assert r.status_code == 415 and r.json()["error"]["code"] == "photos_not_supported"
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=alice["headers"], json={"content": ""})
    assert r.status_code == 422
    assert llm.calls == [] and await _rows(shop, TicketAttachment, TicketAttachment.user_id == alice["id"]) == []


async def test_a_photo_larger_than_a_json_body_goes_through(shop: Shop) -> None:
    """The general body cap (1 MB) would refuse a photo of a few MB: the message routes take photos."""
    api = shop.api
    alice = await api.signup()
    cid = await shop.conversation(alice)
    noisy = io.BytesIO()
    Image.effect_noise((700, 700), 90).convert("RGB").save(noisy, "PNG")
    assert len(noisy.getvalue()) > api.runtime.settings.max_body_bytes
    shop.llm.add("A photo and no words: what happened?")
    r = await _send(shop, alice, cid, "", [_data_url(noisy.getvalue(), "image/png")])
    assert r.status_code == 200, r.text
    assert r.json()["message"]["content"] == "A photo and no words: what happened?"
    assert shop.llm.calls[0].last_user_text.startswith("[The customer sent 1 photo")


async def test_deleting_the_conversation_deletes_its_unfiled_photos_only(shop: Shop) -> None:
    api = shop.api
    alice = await api.signup()
    await shop.order(alice, "delivered", number="A-1001")
    cid = await shop.conversation(alice)
    filed = (await _send(shop, alice, cid, "My order A-1001 arrived damaged", [_data_url(_image())])).json()
    ticket_id = filed["message"]["tool_calls"][0]["result"]["ticket"]["id"]
    shop.llm.add("Noted.")
    assert (await _send(shop, alice, cid, "and one more", [_data_url(_image())])).status_code == 200
    assert len(await _rows(shop, TicketAttachment, TicketAttachment.conversation_id == cid)) == 2
    assert (await api.client.delete(f"/api/conversations/{cid}", headers=alice["headers"])).status_code == 204
    (left,) = await _rows(shop, TicketAttachment, TicketAttachment.user_id == alice["id"])
    assert left.ticket_id == ticket_id and left.conversation_id is None
    assert len(await _photos_of(shop, alice, ticket_id)) == 1


@pytest.mark.parametrize("vision", [None, False], ids=["sees", "text-only"])
async def test_the_openai_compatible_provider_sends_the_image_part_upstream(make_api: Any, vision: bool | None) -> None:
    """A real HTTP upstream on loopback: image parts on the wire as OpenAI defines them, or the note."""
    with FakeUpstream() as upstream:
        cfg = ProviderConfig(name="up", kind="openai", base_url=upstream.base_url, model="fake-model", max_retries=0, vision=vision)
        provider = OpenAICompatProvider(cfg)
        try:
            api = await make_api(providers={"up": provider})
            shop = Shop(api, ScriptedProvider(), await api.signup(admin=True))
            alice = await api.signup()
            cid = await shop.conversation(alice)
            upstream.queue(Reply(text="I see a red square."))
            r = await _send(shop, alice, cid, "What is this?", [_data_url(_image("PNG"), "image/png")])
            assert r.status_code == 200, r.text
            assert r.json()["message"]["content"] == "I see a red square."
        finally:
            await provider.aclose()
        last = upstream.chat_requests()[0].json["messages"][-1]
    if vision is None:
        text, image = last["content"]
        assert text["type"] == "text" and text["text"].startswith("What is this?")
        assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")
    else:
        assert isinstance(last["content"], str) and "cannot see" in last["content"] and "base64" not in last["content"]
