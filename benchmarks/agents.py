"""The two agent backends on the demo issue: model turns, tokens, cost and time per run.

Both runs resolve the demo's bug (`add()` subtracts; no CI failure) through the whole
`resolve_issue` flow, with the ephemeral Prefect server already up. The model is the fake
Anthropic API from the tests, scripted with the same steps for both backends: write the
failing test, read and fix `calc.py`, nothing to refactor. The fake reports input tokens
estimated from each request's size, so the token figures show what each backend *sends*.
Claude Code sends its own system prompt and tool schemas; the built-in loop sends Tamma's.
Costs are those tokens at the list price of the one model both are set to
(claude-sonnet-4-6). Only the implementation's model calls are counted: analysis and plan
are the same for both.

    python benchmarks/agents.py [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._markdown import replace_section, run_stamp  # noqa: E402

MODEL = "claude-sonnet-4-6"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markdown", type=Path, help="rewrite this file's agents section")
    args = parser.parse_args()

    from prefect import flow

    from tests.fakes.anthropic import FakeAnthropic

    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    with FakeAnthropic() as fake, tempfile.TemporaryDirectory() as directory:
        from tamma.cli._prefect import use_prefect

        use_prefect(Path(directory))
        flow(name="warm-up")(lambda: None)()
        rows = [
            _measure(fake, Path(directory) / "builtin", "builtin"),
            _measure(fake, Path(directory) / "claude-code", "claude-code"),
        ]

    lines = [
        run_stamp(".venv/bin/python benchmarks/agents.py"),
        "",
        "| backend | outcome | model turns (implement) | input tokens | output tokens | cost at list price | implement step | whole run |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['backend']} | {r['outcome']} | {r['turns']} | {r['input']:,} | {r['output']:,} | "
            f"${r['cost']:.4f} | {r['implement_s']:.1f} s | {r['wall_s']:.1f} s |"
            for r in rows
        ),
    ]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        replace_section(args.markdown, "agents", f"### Agent backends on the demo issue\n\n{table}\n")


def _measure(fake: Any, home: Path, backend: Literal["builtin", "claude-code"]) -> dict[str, Any]:
    from event_store import EventStore, Query
    from flows.resolve_issue import resolve_in_process
    from tamma import event_types as et
    from tamma.demo.scenario import agent_settings, build_world, session
    from tamma.providers import save_script
    from tests.fakes import claude_code as cc

    home.mkdir()
    settings = {**agent_settings(), "claude_code": {"model": MODEL}}
    os.environ |= {
        "TAMMA_HOME": str(home),
        "TAMMA_DATABASE_URL": f"sqlite:///{home / 'events.db'}",
        "TAMMA_AGENT": json.dumps(settings),
        "TAMMA_PROVIDERS": json.dumps([{"kind": "anthropic", "model": MODEL, "base_url": fake.base_url}]),
        "ANTHROPIC_API_KEY": cc.FAKE_API_KEY,
    }
    fake.reset()
    world = build_world(home, ci_failure=False)
    workspace = home / "workspaces" / "local-shop-1"
    script = None
    if backend == "builtin":
        fake.enqueue(*_builtin_turns())
    else:
        cc.serve_claude_code(fake)
        fake.enqueue(
            cc.write(str(workspace / "tests" / "test_add.py"), _new_test()),
            cc.answer("tests/test_add.py shows add(1, 2) == -1"),
            cc.read(str(workspace / "calc.py")),
            cc.edit(str(workspace / "calc.py"), "return a - b", "return a + b"),
            cc.answer("add() returns a + b"),
            cc.answer("one line; nothing to refactor"),
        )
        script = str(save_script(session(ci_failure=False)[:2], home / "plan-only.json"))
    started = time.perf_counter()
    result = resolve_in_process(
        world.issue_ref, run_id="r-bench0a1", auto_approve=True, script=script, ci_poll_s=0.1, agent=backend
    )
    wall = time.perf_counter() - started
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        events = list(store.read(Query.of(tags=["run:r-bench0a1"])))
    implement = _implementation(events)
    responses = [e for e in implement if e.type == et.AI_RESPONSE_RECEIVED]
    return {
        "backend": backend,
        "outcome": result["outcome"],
        "turns": len(responses),
        "input": sum(
            r.data["usage"]["input_tokens"] + r.data["usage"]["cache_read_tokens"] for r in responses
        ),
        "output": sum(r.data["usage"]["output_tokens"] for r in responses),
        "cost": sum(r.data["cost_usd"] for r in responses),
        "implement_s": (implement[-1].recorded_at - implement[0].recorded_at).total_seconds(),
        "wall_s": wall,
    }


def _implementation(events: list[Any]) -> list[Any]:
    from tamma import event_types as et

    start = next(
        i for i, e in enumerate(events) if e.type == et.STEP_STARTED and e.data["step"] == "implement"
    )
    end = next(
        i for i, e in enumerate(events) if e.type == et.STEP_FINISHED and e.data["step"] == "implement"
    )
    return events[start : end + 1]


def _builtin_turns() -> list[Any]:
    """The demo session (analysis, plan, then Tamma's tools) as the fake's replies."""
    from tamma.demo.scenario import session
    from tamma.providers import TextBlock, ToolUseBlock
    from tests.fakes.anthropic import text_message, tool_use_message

    replies = []
    for response in session(ci_failure=False):
        block = response.content[0]
        if isinstance(block, TextBlock):
            replies.append(text_message(block.text))
        elif isinstance(block, ToolUseBlock):
            replies.append(tool_use_message(block.name, dict(block.input), tool_id=block.id))
    return replies


def _new_test() -> str:
    from tamma.demo.scenario import NEW_TEST

    return NEW_TEST


if __name__ == "__main__":
    main()
