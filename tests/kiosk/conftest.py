"""Fixtures for the kiosk domain: the demo menu, a parser over it, fresh orders."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.commands import execute
from chatkiosk.agents.kiosk.menu import Menu, load_menu
from chatkiosk.agents.kiosk.order import Order
from chatkiosk.agents.kiosk.parser import Parser


@pytest.fixture(scope="session")
def menu() -> Menu:
    return load_menu()


@pytest.fixture(scope="session")
def parser(menu: Menu) -> Parser:
    return Parser(menu)


@pytest.fixture
def order() -> Order:
    return Order()


@pytest.fixture
def run(menu: Menu):
    """Execute one command on an order and assert it was accepted (or refused, with ok=False)."""

    def _run(order: Order, name: str, ok: bool = True, lang: str = "en", **args):
        result = execute(order, menu, name, args, lang)
        assert result.ok is ok, (result.reason, result.message)
        return result

    return _run
