"""The kiosk menu: items, their options and prices, names per language, aliases.

The menu is data the shop owner edits (`menu.json` next to this module is the demo burger
shop); `load_menu(path)` reads any file of the same shape and validates it. Item ids and
option keys/values are part of the API: commands, stored orders and the touch screen use them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

Lang = Literal["ko", "en", "zh"]
LANGS: tuple[Lang, ...] = ("ko", "en", "zh")

DEFAULT_MENU_PATH = Path(__file__).with_name("menu.json")


class MenuError(ValueError):
    """An item or option the menu does not have; `code` says which, `params` fill the message."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


class Names(BaseModel):
    """One text per customer language."""

    ko: str
    en: str
    zh: str

    def get(self, lang: str) -> str:
        """The text in `lang`, English when the language is unknown."""
        return getattr(self, lang, None) or self.en


class OptionValue(BaseModel):
    value: str
    price: int = Field(0, ge=0, description="Added to the item's price, in the menu's currency")
    names: Names


class OptionSpec(BaseModel):
    """One choice a customer can make on an item (size, ice, temperature); the first value is the default."""

    names: Names
    values: list[OptionValue] = Field(min_length=1)

    @property
    def default(self) -> str:
        return self.values[0].value

    def find(self, value: str) -> OptionValue | None:
        return next((v for v in self.values if v.value == value), None)


class Alias(BaseModel):
    """A name customers use for an item; it may imply options (아아 is an iced americano)."""

    text: str
    options: dict[str, str] = Field(default_factory=dict)


class MenuItem(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: str = "other"
    price: int = Field(ge=0)
    names: Names
    options: list[str] = Field(default_factory=list, description="Option keys, in display order")
    aliases: list[Alias] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _plain_aliases(cls, data: dict) -> dict:
        if isinstance(data, dict) and "aliases" in data:
            data = {**data, "aliases": [{"text": a} if isinstance(a, str) else a for a in data["aliases"]]}
        return data


class Menu(BaseModel):
    """The whole menu. Look items up with `item()`; turn partial options into full ones with `resolve_options()`."""

    currency: str = "KRW"
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    items: list[MenuItem] = Field(min_length=1)
    _by_id: dict[str, MenuItem] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Menu:
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("menu item ids must be unique")
        for item in self.items:
            for key in item.options:
                if key not in self.options:
                    raise ValueError(f"item {item.id!r} uses undefined option {key!r}")
            for alias in item.aliases:
                for key, value in alias.options.items():
                    if key not in item.options or self.options[key].find(value) is None:
                        raise ValueError(f"alias {alias.text!r} of {item.id!r} sets unknown option {key}={value}")
        self._by_id = {i.id: i for i in self.items}
        return self

    def item(self, item_id: str) -> MenuItem:
        """The item with this id; MenuError `unknown_item` when the menu has none."""
        try:
            return self._by_id[item_id]
        except KeyError:
            raise MenuError("unknown_item", item=item_id) from None

    def has(self, item_id: str) -> bool:
        return item_id in self._by_id

    def name(self, item_id: str, lang: str) -> str:
        return self.item(item_id).names.get(lang)

    def check_options(self, item_id: str, options: dict[str, str]) -> None:
        """Raise MenuError (`option_not_available` / `invalid_option_value`) unless every pair fits the item."""
        item = self.item(item_id)
        for key, value in options.items():
            if key not in item.options:
                raise MenuError("option_not_available", item=item_id, option=key)
            if self.options[key].find(value) is None:
                raise MenuError("invalid_option_value", item=item_id, option=key, value=str(value))

    def resolve_options(self, item_id: str, options: dict[str, str] | None = None) -> dict[str, str]:
        """Every option of the item filled in: the given values, the first value for the rest."""
        options = dict(options or {})
        self.check_options(item_id, options)
        item = self.item(item_id)
        return {key: options.get(key, self.options[key].default) for key in item.options}

    def unit_price(self, item_id: str, options: dict[str, str] | None = None) -> int:
        """Item price plus the price of each chosen option value."""
        full = self.resolve_options(item_id, options)
        extra = sum(self.options[k].find(v).price for k, v in full.items())  # type: ignore[union-attr]
        return self.item(item_id).price + extra

    def option_label(self, key: str, value: str, lang: str) -> str:
        spec = self.options[key].find(value)
        return spec.names.get(lang) if spec else value

    def to_public(self, lang: str) -> dict:
        """The menu as `GET /api/kiosk/menu` shows it, names in `lang`."""
        return {
            "currency": self.currency,
            "items": [
                {
                    "id": item.id,
                    "category": item.category,
                    "name": item.names.get(lang),
                    "names": item.names.model_dump(),
                    "price": item.price,
                    "options": [
                        {
                            "key": key,
                            "name": self.options[key].names.get(lang),
                            "default": self.options[key].default,
                            "values": [
                                {"value": v.value, "name": v.names.get(lang), "price": v.price}
                                for v in self.options[key].values
                            ],
                        }
                        for key in item.options
                    ],
                }
                for item in self.items
            ],
        }


def load_menu(path: str | Path | None = None) -> Menu:
    """Read and validate a menu file; the bundled demo menu when `path` is None."""
    text = Path(path or DEFAULT_MENU_PATH).read_text(encoding="utf-8")
    return Menu.model_validate(json.loads(text))
