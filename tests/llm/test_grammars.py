"""Grammars for the local model: decodable schemas, the shape of each answer, and llama.cpp parsing them."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from chatkiosk.agents.command_format import command_schema
from chatkiosk.llm.base import GenerationOptions, ToolSpec
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.grammars import ANY_VALUE, answer_grammar, decodable, fallback_grammar, grammar_for, response_schema
from chatkiosk.llm.local import LocalProvider, _llama_kwargs, grammar_parses

from .conftest import needs_llama


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    title: str  # a property called like a keyword stays
    age: int
    home: Address
    friends: list[Address] = []


def _keys(value: Any) -> set[str]:
    """Every key of every object in a schema, property names excepted."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            found.add(key)
            found |= set().union(*(_keys(v) for v in sub.values())) if key == "properties" else _keys(sub)
    elif isinstance(value, list):
        for sub in value:
            found |= _keys(sub)
    return found


def test_a_pydantic_schema_is_inlined_and_keeps_a_property_named_title():
    schema = decodable(Person.model_json_schema())
    assert not {"$ref", "$defs", "title", "default"} & _keys(schema)
    assert set(schema["properties"]) == {"title", "age", "home", "friends"}
    assert schema["properties"]["home"]["properties"]["city"] == {"type": "string"}
    assert schema["properties"]["friends"]["items"]["required"] == ["street", "city"]
    assert schema["required"] == ["title", "age", "home"]


def test_recursion_remote_refs_and_unknown_constructs_become_any_value():
    tree = {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#"}}, "required": ["name"]}
    child = decodable(tree)["properties"]["child"]
    assert child["properties"]["child"] == ANY_VALUE  # one level unrolled, then any value
    assert decodable({"$ref": "https://example.com/schema.json"}) == ANY_VALUE
    assert decodable({"not": {"type": "string"}}) == ANY_VALUE
    lengths = decodable({"type": "object", "properties": {
        "code": {"type": "string", "minLength": 2, "maxLength": 3}, "essay": {"type": "string", "maxLength": 100_000}}})
    assert lengths["properties"]["code"] == {"type": "string", "minLength": 2, "maxLength": 3}
    assert lengths["properties"]["essay"] == {"type": "string"}


def test_response_schema_of_each_format():
    assert response_schema({"type": "json_object"}) == {"type": "object"}
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": Person.model_json_schema()}}
    assert response_schema(fmt)["required"] == ["title", "age", "home"]
    assert response_schema({"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}) == {"type": "object"}


WEATHER = ToolSpec("get_weather", "The weather in a city.", {
    "type": "object", "$defs": {"Unit": {"enum": ["c", "f"], "type": "string"}},
    "properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/Unit"}}, "required": ["city"],
})


def test_a_client_tool_with_its_own_defs_becomes_a_command_the_grammar_can_hold():
    schema = command_schema([WEATHER])
    one = schema["anyOf"][0]["anyOf"][0]
    assert one["properties"]["tool"] == {"const": "get_weather"}
    assert one["properties"]["arguments"]["properties"]["unit"] == {"enum": ["c", "f"], "type": "string"}
    assert "$ref" not in json.dumps(schema)


def _options(**fields: Any) -> GenerationOptions:
    return GenerationOptions(**fields)


def test_each_call_gets_the_shape_it_asked_for():
    commands = command_schema([WEATHER])
    person = {"type": "json_schema", "json_schema": {"name": "p", "schema": Person.model_json_schema()}}
    assert grammar_for(command_schema=None, response_format=None, text_only=False, forced=False) is None
    free, prose = grammar_for(command_schema=commands, response_format=None, text_only=False, forced=False)
    assert prose and free.startswith("root ::= ck-json | prose")
    forced, prose = grammar_for(command_schema=commands, response_format=person, text_only=False, forced=True)
    assert not prose and forced.startswith("root ::= ck-json\n") and "prose" not in forced and '"\\"title\\""' not in forced
    both, prose = grammar_for(command_schema=commands, response_format=person, text_only=False, forced=False)
    assert not prose and "get_weather" in both and '"\\"title\\""' in both
    answer, prose = grammar_for(command_schema=commands, response_format=person, text_only=True, forced=False)
    assert not prose and "get_weather" not in answer and '"\\"title\\""' in answer
    text, prose = grammar_for(command_schema=commands, response_format=None, text_only=True, forced=False)
    assert prose and text.startswith("root ::= prose")
    # The local provider asks for a grammar only where one is needed, and a forced call is one.
    assert "grammar" not in _llama_kwargs(_options(), 64)
    assert _llama_kwargs(_options(command_schema=commands, tool_choice="required"), 64)["grammar"][1] is False
    assert _llama_kwargs(_options(response_format={"type": "json_object"}), 64)["grammar"][1] is False


@needs_llama
def test_llama_cpp_parses_every_shape(vocab):
    commands = command_schema([WEATHER])
    person = {"type": "json_schema", "json_schema": {"name": "p", "schema": Person.model_json_schema()}}
    shapes = [
        grammar_for(command_schema=commands, response_format=r, text_only=t, forced=f)
        for r in (None, person, {"type": "json_object"}) for t in (False, True) for f in (False, True)
    ]
    texts = [s[0] for s in shapes if s is not None] + [fallback_grammar(True), fallback_grammar(False), answer_grammar()]
    assert len(texts) == 15 and all(grammar_parses(vocab, text) for text in texts)
    assert not grammar_parses(vocab, "root ::= undefined-rule")


@needs_llama
def test_a_grammar_llama_cpp_refuses_is_replaced_by_the_generic_one(vocab):
    provider = LocalProvider(ProviderConfig(name="local", kind="local", model="default"))
    try:
        grammar = provider._checked(vocab, ("root ::= root \"x\"", False))  # left recursion: refused
        assert grammar._grammar == fallback_grammar(False)
        kept = provider._checked(vocab, (answer_grammar(), True))
        assert kept._grammar == answer_grammar()
    finally:
        provider._executor.shutdown(wait=True)
