"""Simon Willison's `llm` against a live server: chat, stream, a client tool on `assistant`, `--schema`, and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from chatkiosk.llm.fake import ScriptedProvider, tool_call


@pytest.fixture
def llm_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    return tmp_path


def _model(server, key):
    from llm.default_plugins.openai_models import Chat

    model = Chat("chatkiosk-assistant", model_name="assistant", api_base=f"{server.base}/v1", supports_tools=True, supports_schema=True)
    return model, key


class City(BaseModel):
    name: str


def test_prompt_stream_tools_and_schema(live, llm_home):
    import llm

    scripted = ScriptedProvider(["Hello.", ["str", "eamed"], tool_call("get_weather", {"city": "Seoul"}), "Seoul is sunny.",
                                 '{"name": "Busan"}'])
    server = live(providers={"scripted": scripted})
    model, key = _model(server, server.user().key)
    assert model.prompt("hi", key=key, stream=False).text() == "Hello."
    assert "".join(model.prompt("hi", key=key)) == "streamed"
    ran: list[str] = []

    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "sunny"

    chain = model.chain("Weather in Seoul?", tools=[llm.Tool.function(get_weather)], key=key)
    assert chain.text() == "Seoul is sunny." and ran == ["Seoul"]
    assert json.loads(model.prompt("Which city?", schema=City, key=key).text()) == {"name": "Busan"}
    assert scripted.calls[-1].options.response_format["type"] == "json_schema"


def test_the_cli_with_extra_openai_models(live, llm_home):
    from llm.cli import cli

    server = live(providers={"scripted": ScriptedProvider(["Hi from the CLI."])})
    key = server.user().key
    (llm_home / "extra-openai-models.yaml").write_text(
        f"- model_id: chatkiosk-assistant\n  model_name: assistant\n  api_base: \"{server.base}/v1\"\n"
        "  api_key_name: chatkiosk\n  supports_tools: true\n  supports_schema: true\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "set", "chatkiosk", "--value", key]).exit_code == 0
    result = runner.invoke(cli, ["-m", "chatkiosk-assistant", "--no-log", "hi"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Hi from the CLI."
    bad = runner.invoke(cli, ["-m", "chatkiosk-assistant", "--no-log", "--key", "ck-wrong", "hi"])
    assert bad.exit_code != 0
