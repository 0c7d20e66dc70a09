"""The address policy behind fetch_page: the SSRF matrix (no request is sent by these tests)."""

from __future__ import annotations

import pytest

from chatkiosk.errors import ToolError
from chatkiosk.reach.netguard import AddressPolicy

REFUSED = [
    "http://127.0.0.1/", "http://127.8.9.10:8080/x", "http://localhost/", "http://[::1]/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",  # CGNAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fe80::1]/", "http://[fc00::1]/", "http://0.0.0.0/", "http://[::]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",  # IPv4-mapped IPv6
    "http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/",  # other spellings of 127.0.0.1
    "http://224.0.0.1/", "http://240.0.0.1/", "http://198.18.0.1/",  # multicast, reserved, benchmarking
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_loopback_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(ToolError) as refused:
        await AddressPolicy().resolve(url)
    assert refused.value.code in ("url_refused", "url_unresolvable")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/x", "dict://127.0.0.1:11211/"])
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ToolError, match="only http and https"):
        await AddressPolicy().resolve(url)


async def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ToolError, match="credentials"):
        await AddressPolicy().resolve("http://user:pass@93.184.216.34/")


async def test_a_public_address_is_approved_and_pinned() -> None:
    target = await AddressPolicy().resolve("https://93.184.216.34:8443/page?q=1")
    assert (target.host, target.port, target.address, target.scheme) == ("93.184.216.34", 8443, "93.184.216.34", "https")


async def test_an_admin_can_allow_a_network_explicitly() -> None:
    policy = AddressPolicy(["127.0.0.1/32"])
    assert (await policy.resolve("http://127.0.0.1:9/")).address == "127.0.0.1"
    with pytest.raises(ToolError):
        await policy.resolve("http://127.0.0.2:9/")  # the rest of loopback stays refused


async def test_an_unresolvable_host_is_a_clear_error() -> None:
    with pytest.raises(ToolError) as refused:
        await AddressPolicy().resolve("http://no-such-host.invalid/")
    assert refused.value.code == "url_unresolvable"
