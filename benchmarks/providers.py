"""Providers: the provider layer's overhead per call, and the prompt cache over an agent conversation.

Overhead: each Tamma provider call next to the bare client doing the same wire request (the
`anthropic` SDK, or one httpx POST for the OpenAI-compatible API) against the local fakes, in
one run. Calls alternate in blocks, bare first and Tamma first in turn, so drift in machine
load lands on both sides; medians and p95 are quoted, with the ratio and the absolute
difference. A real API call takes seconds, so the absolute overhead is the figure that matters.

Cache: a `--turns` agent conversation through `AnthropicProvider` against the fake in
auto-cache mode, which counts cache writes and reads from the request's `cache_control`
markers as the API does, with Sonnet's 1024-token minimum. Target (issue 11): >= 80% of the
input tokens of turns 2.. served from the cache.

    python benchmarks/providers.py [--calls 600] [--turns 20] [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anthropic
import httpx

# Run as a file, Python puts benchmarks/ first on sys.path, where `benchmarks` is not
# importable: put the repository root there instead, as `python -m benchmarks.providers` does.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._markdown import replace_section  # noqa: E402
from tamma.providers import (  # noqa: E402
    AnthropicProvider,
    Message,
    OpenAICompatibleProvider,
    Request,
    ToolResultBlock,
    ToolSpec,
    Usage,
)
from tests.fakes import FakeAnthropic, FakeOpenAI, PromptCache, ScriptEntry  # noqa: E402
from tests.fakes.anthropic import text_message, tool_use_message  # noqa: E402
from tests.fakes.openai import text_completion  # noqa: E402

MODEL = "claude-sonnet-4-6"
API_KEY = "sk-bench-not-a-secret"
BLOCK = 25
"""Calls per block: long enough to amortise the switch, short enough to interleave often."""
WARMUP = 25
"""Untimed calls per side first: connection pools, SDK lazy imports and pydantic caches fill."""
CACHE_TARGET = 0.80
MIN_CACHEABLE_TOKENS = 1024
"""The API caches no prefix shorter than this on Sonnet; the fake applies the same rule."""

PROMPT = "Reply with one short sentence."
SYSTEM = """\
You are Tamma, an autonomous software engineer working on one issue of a git repository. You work inside a
checked-out workspace through the tools listed below and nothing else; nobody reads your messages until the
run ends, so do not ask questions: decide, and say in your summary what you decided and why.

How to work:
1. Read the issue and restate, in one paragraph, what done means and how it will be tested.
2. Explore before you edit: list the relevant directories, read the modules the issue names and their tests,
   and search for every caller of a function before changing its signature.
3. Plan the smallest change that meets the issue. Prefer editing existing code to adding new modules; keep
   the project's structure, naming and error handling conventions, even where you would have chosen others.
4. Write or update tests first when the behaviour is specified; run them and watch them fail for the right
   reason before you change the code.
5. Make the change, then run the focused tests, then the whole suite, then the linters and the type checker.
6. When a command fails, read its whole output before you act; never retry a failing command unchanged.
7. Finish with a summary: the change, the tests you ran and their result, and anything left for a reviewer.

Tools: paths are relative to the repository root. Output longer than 20,000 characters is cut in the middle
and says so; ask for less rather than more. `run` has a 10-minute timeout and no network access except the
package index; a command that needs a service the sandbox lacks will fail, and you should say so rather than
work around it. `write_file` replaces the whole file: read it first, and write back every line you keep.

Rules:
- Never write outside the workspace, never touch .git directly, never push: the orchestrator commits and
  opens the pull request once your work is accepted by the checks.
- Never print, log or commit a secret; environment variables named *_KEY, *_TOKEN or *_PASSWORD are
  redacted from tool output and must not be reconstructed, guessed or asked for.
- Keep functions small and typed; docstrings say why, names say what; leave no dead or commented-out code.
- Do not add dependencies without saying why in the summary; prefer the standard library.
- Tool calls are expensive: read whole files rather than many small ranges, and batch related searches.
  Stop and report if the same command fails three times in a row.
- If the issue is ambiguous, choose the reading that matches the existing tests and say so.
- A budget bounds your tokens and wall time; when it runs low, stop at a consistent state (tests passing)
  and describe what remains instead of starting a new change.

Repository conventions: Python 3.11, pydantic models for data that crosses a boundary, errors from one tree
rooted at TammaError, ruff and mypy --strict clean, pytest tests that drive real clients against local fake
servers rather than mocks, one contract suite per port run against every backend.
"""


def _tool(name: str, description: str, **properties: str) -> ToolSpec:
    schema = {field: {"type": "string", "description": text} for field, text in properties.items()}
    return ToolSpec(
        name=name,
        description=description,
        input_schema={"type": "object", "properties": schema, "required": list(properties)},
    )


TOOLS = (
    _tool("read_file", "Read a text file of the workspace.", path="Relative to the repo root."),
    _tool("write_file", "Replace a file's content.", path="Relative to the repo root.", content="All of it."),
    _tool("run", "Run a shell command in the workspace; exit code and output.", command="The command."),
    _tool("search", "Search the workspace with a regular expression.", pattern="A Python regex."),
)


@dataclass(frozen=True)
class Comparison:
    """Per-call wall times in seconds of the bare client and of Tamma's provider for one case."""

    case: str
    bare: list[float]
    tamma: list[float]

    def row(self) -> str:
        bare, tamma = statistics.median(self.bare), statistics.median(self.tamma)
        return (
            f"| {self.case} | {bare * 1e3:.3f} | {_p95(self.bare) * 1e3:.3f} | {tamma * 1e3:.3f} | "
            f"{_p95(self.tamma) * 1e3:.3f} | {tamma / bare:.2f}x | {(tamma - bare) * 1e6:+.0f} |"
        )


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def compare(case: str, bare: Callable[[], object], tamma: Callable[[], object], calls: int) -> Comparison:
    """Time `calls` calls of each side, alternating blocks and which side goes first."""
    for _ in range(WARMUP):
        bare()
        tamma()
    samples: dict[Callable[[], object], list[float]] = {bare: [], tamma: []}
    for block in range(-(-calls // BLOCK)):
        for call in (bare, tamma) if block % 2 == 0 else (tamma, bare):
            for _ in range(BLOCK):
                started = time.perf_counter()
                call()
                samples[call].append(time.perf_counter() - started)
    return Comparison(case, samples[bare], samples[tamma])


@contextmanager
def served(fake_type: type[FakeAnthropic | FakeOpenAI], reply: ScriptEntry) -> Iterator[str]:
    """The base URL of a fake run in a child process, answering every request with `reply`.

    Why a child: in-process, the server's threads share the GIL with the timed client, whose
    calls then wait on thread switches; in trials that tripled p95 and blurred the medians.
    """
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=_serve, args=(fake_type, reply, theirs), daemon=True)
    child.start()
    theirs.close()  # so a child that dies before answering raises EOFError here, not a hang
    try:
        url: str = ours.recv()
        yield url
    finally:
        ours.send("stop")
        child.join(timeout=5)


def _serve(fake_type: type[FakeAnthropic | FakeOpenAI], reply: ScriptEntry, pipe: Connection) -> None:
    with fake_type() as fake:
        fake.default_reply = reply
        pipe.send(fake.base_url)
        pipe.recv()


def anthropic_overhead(calls: int) -> list[Comparison]:
    """Plain and streamed Messages calls; the bare side sends the provider's exact wire body."""
    with served(FakeAnthropic, text_message("Hello from the fake Messages API.")) as url:
        client = anthropic.Anthropic(base_url=url, api_key=API_KEY, max_retries=0)
        provider = AnthropicProvider(base_url=url, api_key=API_KEY, model=MODEL)
        request = Request(messages=(Message.user(PROMPT),), max_tokens=256)
        content = [{"type": "text", "text": PROMPT, "cache_control": {"type": "ephemeral"}}]
        params: dict[str, Any] = {
            "model": MODEL,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": content}],
        }

        def bare_stream() -> object:
            with client.messages.stream(**params) as stream:
                return stream.get_final_message()

        return [
            compare(
                "Anthropic `complete`",
                lambda: client.messages.create(**params),
                lambda: provider.complete(request),
                calls,
            ),
            compare("Anthropic `stream`", bare_stream, lambda: list(provider.stream(request)), calls),
        ]


def openai_overhead(calls: int) -> Comparison:
    """One chat completion: a bare httpx POST of the provider's wire body, parsed as JSON."""
    reply = text_completion("Hello from the fake chat completions API.")
    with served(FakeOpenAI, reply) as url, httpx.Client(base_url=url + "/") as http:
        provider = OpenAICompatibleProvider(base_url=url, model="llama3.1:8b")
        body = {"model": "llama3.1:8b", "max_tokens": 256, "messages": [{"role": "user", "content": PROMPT}]}
        request = Request(messages=(Message.user(PROMPT),), max_tokens=256)
        return compare(
            "OpenAI-compatible `complete`",
            lambda: http.post("chat/completions", json=body).raise_for_status().json(),
            lambda: provider.complete(request),
            calls,
        )


def file_content(path: str) -> str:
    """A few hundred characters of plausible source, different for every path."""
    module = path.removesuffix(".py").replace("/", ".")
    return (
        f'"""{module}: part of the code the agent is reading."""\n\n'
        "from __future__ import annotations\n\nimport logging\n\n"
        f"log = logging.getLogger({module!r})\n\n\n"
        f"def handle_{module.rsplit('.', 1)[-1]}(event: dict[str, object]) -> bool:\n"
        '    """Apply one event; False when it was already applied."""\n'
        "    if event.get('applied'):\n        return False\n"
        f"    log.info('applying %s in {module}', event.get('id'))\n    return True\n"
    )


def conversation(turns: int) -> list[Usage]:
    """Usage per turn of an agent that reads one file per turn, as a coding agent explores."""
    with FakeAnthropic() as fake:
        fake.auto_cache_usage = True
        fake.cache = PromptCache(min_tokens=MIN_CACHEABLE_TOKENS)
        provider = AnthropicProvider(base_url=fake.base_url, api_key=API_KEY, model=MODEL)
        messages = [Message.user("Issue 42: retries of the webhook handler apply events twice. Fix it.")]
        usages = []
        for turn in range(1, turns + 1):
            path = f"tamma/webhooks/module_{turn:02d}.py"
            fake.enqueue(
                tool_use_message(
                    "read_file", {"path": path}, tool_id=f"toolu_{turn:02d}", text=f"Reading {path}."
                )
            )
            response = provider.complete(Request(system=SYSTEM, tools=TOOLS, messages=tuple(messages)))
            usages.append(response.usage)
            results = tuple(
                ToolResultBlock(tool_use_id=use.id, content=file_content(str(use.input["path"])))
                for use in response.tool_uses
            )
            messages += [response.as_message(), Message(role="user", content=results)]
        return usages


def cache_table(usages: list[Usage]) -> tuple[str, float]:
    """Per-turn usage and the running share of turns 2.. input read from cache; the final share."""
    lines = [
        "| turn | input | cache write | cache read | read share, turns 2..n |",
        "|---|---|---|---|---|",
    ]
    read = total = 0
    for turn, usage in enumerate(usages, start=1):
        if turn > 1:
            read, total = read + usage.cache_read_tokens, total + usage.total_input_tokens
        share = f"{read / total:.1%}" if total else ""
        lines.append(
            f"| {turn} | {usage.input_tokens} | {usage.cache_write_tokens} | "
            f"{usage.cache_read_tokens} | {share} |"
        )
    return "\n".join(lines), read / total if total else 0.0


def run_context() -> str:
    """Command line, date and machine, so a figure can be reproduced and compared fairly."""
    command = shlex.join(["python", "benchmarks/providers.py", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"`{command}`; {when}; nproc {cpus}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, anthropic {anthropic.__version__}, httpx {httpx.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=600, help="timed calls per side and case, in whole blocks (default 600)"
    )
    parser.add_argument("--turns", type=int, default=20, help="turns of the agent conversation (default 20)")
    parser.add_argument(
        "--markdown", type=Path, help="rewrite this file's providers section with the figures"
    )
    args = parser.parse_args()
    if args.calls < BLOCK or args.turns < 2:
        parser.error(f"--calls must be >= {BLOCK} and --turns >= 2")

    started = time.perf_counter()
    comparisons = [*anthropic_overhead(args.calls), openai_overhead(args.calls)]
    table, share = cache_table(conversation(args.turns))
    verdict = "met" if share >= CACHE_TARGET else "MISSED"
    report = "\n".join(
        [
            run_context(),
            "",
            f"Overhead per call against the local fakes (in a child process), {args.calls} calls per "
            f"side in interleaved blocks of {BLOCK}; ms; overhead = median Tamma - median bare.",
            "",
            "| case | bare median | bare p95 | Tamma median | Tamma p95 | ratio | overhead µs |",
            "|---|---|---|---|---|---|---|",
            *(comparison.row() for comparison in comparisons),
            "",
            f"Prompt cache over a {args.turns}-turn agent conversation ({len(SYSTEM)}-char system "
            f"prompt, {len(TOOLS)} tools, one read_file per turn); tokens per turn.",
            "",
            table,
            "",
            f"Input tokens of turns 2..{args.turns} read from cache: {share:.1%} "
            f"(target >= {CACHE_TARGET:.0%}: {verdict}).",
        ]
    )
    print(report)
    print(f"\n(ran in {time.perf_counter() - started:.1f} s)")
    if args.markdown:
        replace_section(args.markdown, "providers", f"### Providers\n\n{report}\n")


if __name__ == "__main__":
    main()
