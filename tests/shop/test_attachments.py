"""Photos on support tickets: type from the bytes, size limits, metadata stripped, owner and staff only."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from ..conftest import Api


def _image(fmt: str, size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


def _jpeg_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotated 90° — the photo must come back upright
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (37.0, 33.0, 59.0), 4: (126.0, 58.0, 41.0)}  # GPS: where the customer lives
    return _image("JPEG", (80, 40), exif=exif.tobytes(), comment=b"home address: 12 Example-ro")


async def _ticket(api: Api, user: dict) -> str:
    r = await api.client.post("/api/shop/tickets", headers=user["headers"],
                              json={"issue_type": "damaged", "description": "The box arrived crushed."})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _attach(api: Api, user: dict, ticket: str, data: bytes, name: str = "photo.jpg", kind: str = "image/jpeg") -> Any:
    return await api.client.post(f"/api/shop/tickets/{ticket}/attachments", headers=user["headers"], files={"file": (name, data, kind)})


@pytest.mark.parametrize("fmt, kind", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
async def test_a_photo_is_filed_and_listed_on_the_ticket(api: Api, fmt: str, kind: str) -> None:
    user = await api.signup()
    ticket = await _ticket(api, user)
    # the name and declared type lie; the bytes decide
    r = await _attach(api, user, ticket, _image(fmt), name="notes.txt", kind="text/plain")
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["content_type"], photo["width"], photo["height"], photo["ticket_id"]) == (kind, 64, 48, ticket)
    detail = (await api.client.get(f"/api/shop/tickets/{ticket}", headers=user["headers"])).json()
    assert [a["id"] for a in detail["attachments"]] == [photo["id"]]
    served = await api.client.get(photo["url"], headers=user["headers"])
    assert served.status_code == 200 and served.headers["content-type"] == kind
    assert served.headers["x-content-type-options"] == "nosniff" and "sandbox" in served.headers["content-security-policy"]
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)


async def test_metadata_is_stripped_and_the_photo_turned_upright(api: Api) -> None:
    user = await api.signup()
    ticket = await _ticket(api, user)
    original = _jpeg_with_metadata()
    assert b"SecretCam" in original and b"12 Example-ro" in original
    photo = (await _attach(api, user, ticket, original)).json()
    assert (photo["width"], photo["height"]) == (40, 80)  # orientation 6 applied
    served = (await api.client.get(photo["url"], headers=user["headers"])).content
    assert b"SecretCam" not in served and b"Example-ro" not in served and b"Exif" not in served
    reopened = Image.open(io.BytesIO(served))
    assert dict(reopened.getexif()) == {} and "comment" not in reopened.info


@pytest.mark.parametrize("data, name", [
    (_image("GIF"), "cat.gif"),
    (b"<html><script>alert(1)</script></html>", "photo.png"),
    (b"%PDF-1.4 not an image", "photo.jpg"),
    (b"", "empty.png"),
])
async def test_other_types_are_refused_whatever_their_name(api: Api, data: bytes, name: str) -> None:
    user = await api.signup()
    ticket = await _ticket(api, user)
    r = await _attach(api, user, ticket, data, name=name, kind="image/png")
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_media_type"


async def test_a_damaged_image_is_422(api: Api) -> None:
    user = await api.signup()
    ticket = await _ticket(api, user)
    r = await _attach(api, user, ticket, b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unreadable_image"


async def test_size_and_pixel_limits(make_api: Any) -> None:
    api = await make_api(attachment_max_bytes=100_000, attachment_max_pixels=1_000_000)
    user = await api.signup()
    ticket = await _ticket(api, user)
    noisy = Image.effect_noise((400, 400), 90).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 100_000
    r = await _attach(api, user, ticket, out.getvalue())
    assert r.status_code == 413
    # a tiny file that decodes to a huge picture (a decompression bomb)
    bomb = _image("PNG", (3000, 3000))
    assert len(bomb) < 100_000
    r = await _attach(api, user, ticket, bomb)
    assert r.status_code == 413 and "megapixels" in r.json()["error"]["message"]
    # the server's general body cap also lets a photo of the allowed size through
    assert (await _attach(api, user, ticket, _image("PNG"))).status_code == 201


async def test_only_the_owner_and_staff_see_a_tickets_photos(api: Api) -> None:
    alice, bob = await api.signup(), await api.signup()
    staff = await api.signup(admin=True)
    ticket = await _ticket(api, alice)
    photo = (await _attach(api, alice, ticket, _image("PNG"))).json()
    for path in (f"/api/shop/tickets/{ticket}/attachments", photo["url"]):
        assert (await api.client.get(path, headers=bob["headers"])).status_code == 404
        assert (await api.client.get(path)).status_code == 401
        assert (await api.client.get(path, headers=staff["headers"])).status_code == 200
    assert (await _attach(api, bob, ticket, _image("PNG"))).status_code == 404  # SECURITY 11
    # another ticket's id with this photo's id is not a way in either
    bobs = await _ticket(api, bob)
    assert (await api.client.get(f"/api/shop/tickets/{bobs}/attachments/{photo['id']}", headers=bob["headers"])).status_code == 404
    listed = (await api.client.get(f"/api/shop/tickets/{ticket}/attachments", headers=alice["headers"])).json()["data"]
    assert [p["id"] for p in listed] == [photo["id"]]


async def test_a_ticket_takes_a_bounded_number_of_photos(make_api: Any) -> None:
    api = await make_api(attachments_per_ticket=2)
    user = await api.signup()
    ticket = await _ticket(api, user)
    assert [(await _attach(api, user, ticket, _image("PNG"))).status_code for _ in range(3)] == [201, 201, 409]
