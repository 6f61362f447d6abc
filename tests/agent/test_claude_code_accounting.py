"""What a Claude Code session spends and where it sends its requests: the real claude-agent-sdk
and its bundled CLI against the fake Anthropic API, which streams usage as the API does
(`message_start` with `output_tokens: 1`, the final figures in `message_delta`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from claude_agent_sdk import ResultMessage

from event_store import EventStore
from tamma import event_types as et
from tamma.agent._claude_session import ClaudeSession
from tamma.agent._claude_usage import SessionMeter
from tamma.agent.budget import Budget, BudgetGuard
from tamma.agent.claude_code import ClaudeCodeBackend, ModelAccess, model_access
from tamma.agent.settings import ClaudeCodeSettings
from tamma.errors import ConfigError
from tamma.providers import Message, ModelPrice, PriceTable, Usage
from tamma.providers._settings import ProviderSettings
from tests.agent.test_claude_code import backend_for, make_workspace, recorded
from tests.config_fixtures import MemoryKeyring
from tests.fakes import claude_code as cc
from tests.fakes.anthropic import FakeAnthropic, TokenCounts

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


def recorded_usage(counts: TokenCounts) -> dict[str, int]:
    """`counts` (the wire's names) as an AI.RESPONSE.RECEIVED records them."""
    return {
        "input_tokens": counts.input_tokens,
        "output_tokens": counts.output_tokens,
        "cache_read_tokens": counts.cache_read_input_tokens,
        "cache_write_tokens": counts.cache_creation_input_tokens,
    }


def test_each_response_is_recorded_with_its_final_usage_and_the_session_adds_up_to_the_clis(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    calc = str(workspace / "calc.py")
    counts = [
        TokenCounts(1_200, 35, cache_creation_input_tokens=900, cache_read_input_tokens=4_000),
        TokenCounts(300, 48, cache_read_input_tokens=5_100),
        TokenCounts(250, 17, cache_read_input_tokens=5_400),
    ]
    fake_anthropic.enqueue(
        replace(cc.read(calc, text="Reading."), usage=counts[0]),
        replace(cc.edit(calc, "return a - b", "return a + b"), usage=counts[1]),
        replace(cc.answer("Fixed."), usage=counts[2]),
    )
    backend = backend_for(workspace, store, fake_anthropic)  # Claude Code's default model

    outcome = backend.run("fix", "Fix it.", [Message.user("Go.")])

    assert outcome.finished, outcome.reason
    responses = recorded(store, et.AI_RESPONSE_RECEIVED)
    assert [r.data["usage"] for r in responses] == [recorded_usage(c) for c in counts]
    assert [r.data["response"]["stop_reason"] for r in responses] == ["tool_use", "tool_use", "end_turn"]
    assert all(r.data["cost_usd"] > 0 for r in responses)
    (finished,) = recorded(store, et.AGENT_SESSION_FINISHED)
    cli_usage = {name: finished.data["usage"][name] for name in vars(counts[0])}
    assert cli_usage == {name: sum(getattr(c, name) for c in counts) for name in vars(counts[0])}
    cost = sum(r.data["cost_usd"] for r in responses)
    assert cost == pytest.approx(finished.data["total_cost_usd"])  # Tamma's prices are the CLI's
    assert finished.data["cost_usd"] == pytest.approx(cost)
    spent = backend.guard.spent
    assert (spent.turns, spent.tokens) == (3, sum(sum(vars(c).values()) for c in counts))
    assert spent.cost_usd == pytest.approx(cost)


def test_what_the_cli_counted_beyond_the_responses_seen_is_recorded_as_a_correction(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    # A request the CLI makes without streaming it to the SDK (none in these tests: the real
    # CLI streams every agent turn) shows only in the result's usage.
    backend = backend_for(workspace, store, fake_anthropic)
    session = ClaudeSession("fix", backend)
    reported = {"input_tokens": 700, "output_tokens": 30, "cache_read_input_tokens": 0}
    result = ResultMessage(
        subtype="success",
        duration_ms=1,
        duration_api_ms=1,
        is_error=False,
        num_turns=1,
        session_id="s-1",
        total_cost_usd=0.0034,
        usage=reported,
    )

    session.finished(result)

    (correction,) = recorded(store, et.AI_RESPONSE_RECEIVED)
    assert correction.data["reconciliation"] is True
    assert correction.data["usage"] == recorded_usage(TokenCounts(700, 30))
    assert correction.data["cost_usd"] == pytest.approx(0.0034)  # 700 x $4 + 30 x $20 per MTok
    assert recorded(store, et.AGENT_SESSION_FINISHED)[0].data["cost_usd"] == pytest.approx(0.0034)
    assert (backend.guard.spent.turns, backend.guard.spent.tokens) == (0, 730)


def test_final_usage_may_come_as_output_alone_and_a_model_without_a_price_is_never_free() -> None:
    prices = PriceTable()
    guard = BudgetGuard(Budget(), prices)
    meter = SessionMeter(guard, prices, "claude-opus-5-5")
    start = {"input_tokens": 1_000, "output_tokens": 1, "cache_read_input_tokens": 2_000}

    first = meter.started("claude-nova-1", start)  # the API answered with a model Tamma has no price for
    final = meter.ended("claude-nova-1", first, {"output_tokens": 40})  # an older API's message_delta

    assert final.usage == Usage(input_tokens=1_000, output_tokens=40, cache_read_tokens=2_000)
    assert final.cost_usd == prices.cost("claude-opus-5-5", final.usage) > 0
    assert meter.unseen({"input_tokens": 0, "output_tokens": 0}) is None  # an interrupted query's
    assert (guard.spent.turns, guard.spent.tokens) == (1, 3_040)
    assert guard.spent.cost_usd == final.cost_usd


def test_with_only_anthropic_base_url_set_every_request_reaches_it(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", cc.FAKE_API_KEY)
    access = model_access([ProviderSettings(kind="anthropic")])  # no base_url in the settings
    backend = backend_for(workspace, store, fake_anthropic, access=access)
    # Checked before the session starts: a CLI without it would go to Anthropic's API instead.
    assert backend._environment(workspace.parent)["ANTHROPIC_BASE_URL"] == fake_anthropic.base_url
    fake_anthropic.enqueue(cc.read(str(workspace / "calc.py")), cc.answer("Read it."))

    outcome = backend.run("fix", "Fix it.", [Message.user("Go.")])

    assert outcome.finished, outcome.reason
    assert len(cc.agent_requests(fake_anthropic)) == 2
    assert (fake_anthropic.pending, fake_anthropic.unscripted) == (0, [])


@pytest.mark.parametrize(
    ("configured", "environment", "used"),
    [
        ("http://gateway.invalid:8080", "http://other.invalid", "http://gateway.invalid:8080"),
        (None, "http://gateway.invalid:8080", "http://gateway.invalid:8080"),
        (None, "", None),
        (None, None, None),
    ],
    ids=["setting-wins", "environment", "empty-is-unset", "anthropic"],
)
def test_the_base_url_is_resolved_like_the_builtin_provider(
    configured: str | None, environment: str | None, used: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_KEY", cc.FAKE_API_KEY)
    if environment is None:
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", environment)
    providers = [
        ProviderSettings(kind="openai-compatible", base_url="http://127.0.0.1:1/v1", model="m"),
        ProviderSettings(kind="anthropic", api_key_env="GATEWAY_KEY", base_url=configured),
    ]

    assert model_access(providers) == ModelAccess(api_key=cc.FAKE_API_KEY, base_url=used)


def test_without_an_anthropic_key_the_backend_says_where_to_put_one(
    monkeypatch: pytest.MonkeyPatch, keychain: MemoryKeyring
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with pytest.raises(ConfigError, match="needs an Anthropic API key: set ANTHROPIC_API_KEY"):
        model_access([ProviderSettings(kind="anthropic")])


def test_a_model_without_a_price_is_refused_before_the_session_starts(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    settings = ClaudeCodeSettings(model="claude-nova-1")

    with pytest.raises(ConfigError, match=r"'claude-nova-1'.*agent\.claude_code\.model.*prices:") as refused:
        backend_for(workspace, store, fake_anthropic, settings=settings)

    assert "\n" not in str(refused.value)
    assert fake_anthropic.requests == []
    priced = PriceTable({"claude-nova-1": ModelPrice(input=1, output=2, cache_read=0.1, cache_write=1.25)})
    assert isinstance(
        backend_for(workspace, store, fake_anthropic, settings=settings, prices=priced), ClaudeCodeBackend
    )
