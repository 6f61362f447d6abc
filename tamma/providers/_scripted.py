"""`ScriptedProvider`: plays saved responses, for the offline demo and for tests of the layers
above providers. It never calls a network and is only used when asked for.

A script is either a list, answered in order, or conversations keyed by purpose (analysis,
plan, tests, fix, refactor, lint, ci-fix: `Request.purpose`), where the answer to a request is
the purpose's turn numbered by the model's answers already in the request. The second kind
needs no memory, so a run killed anywhere and started again gets what its resumed prompt asks:
a phase begun again from its first message gets the phase's first answer again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tamma.errors import ConfigError, ProviderError
from tamma.providers._models import (
    ContentBlock,
    Request,
    Response,
    StreamEvent,
    TextBlock,
    ToolUseBlock,
    Usage,
    replay_stream,
)

__all__ = ["Conversations", "ScriptedProvider", "save_script", "scripted_text", "scripted_tool_use"]

SCRIPTED_MODEL = "scripted"


def scripted_text(text: str, usage: Usage | None = None, *, cost_usd: float = 0.0) -> Response:
    """A scripted answer of plain text."""
    return _response((TextBlock(text=text),), "end_turn", usage, cost_usd)


def scripted_tool_use(
    name: str,
    tool_input: dict[str, Any],
    *,
    tool_id: str = "",
    text: str = "",
    usage: Usage | None = None,
    cost_usd: float = 0.0,
) -> Response:
    """A scripted answer that calls one tool (optionally after some text), costing `cost_usd`."""
    blocks: list[ContentBlock] = [TextBlock(text=text)] if text else []
    blocks.append(ToolUseBlock(id=tool_id or f"toolu_scripted_{name}", name=name, input=tool_input))
    return _response(tuple(blocks), "tool_use", usage, cost_usd)


def _response(
    content: tuple[ContentBlock, ...], stop_reason: Any, usage: Usage | None, cost_usd: float
) -> Response:
    return Response(
        id="msg_scripted",
        model=SCRIPTED_MODEL,
        content=content,
        stop_reason=stop_reason,
        usage=usage or Usage(),
        cost_usd=cost_usd,
        provider="scripted",
    )


Conversations = Mapping[str, Sequence[Response]]
"""A script keyed by purpose: each purpose's answers, turn by turn."""


def save_script(responses: Iterable[Response] | Conversations, path: Path) -> Path:
    """Write a script for `ScriptedProvider.from_file` (and so for `tamma run --script`)."""
    if isinstance(responses, Mapping):
        saved: Any = {
            "conversations": {
                purpose: [response.model_dump(mode="json") for response in turns]
                for purpose, turns in responses.items()
            }
        }
    else:
        saved = [response.model_dump(mode="json") for response in responses]
    path.write_text(json.dumps(saved, indent=1))
    return path


class ScriptedProvider:
    """Answers each request with the next response of `script`, in order."""

    name = "scripted"

    def __init__(self, script: Iterable[Response] | Conversations) -> None:
        self._conversations: dict[str, list[Response]] | None = (
            {purpose: list(turns) for purpose, turns in script.items()}
            if isinstance(script, Mapping)
            else None
        )
        self._script = [] if isinstance(script, Mapping) else list(script)
        self.requests: list[Request] = []

    @classmethod
    def from_file(cls, path: Path, *, skip: int = 0) -> ScriptedProvider:
        """A script saved with `save_script`; a list without its first `skip` responses (those a
        resumed run already received), conversations whole."""
        try:
            saved = json.loads(path.read_text())
            if isinstance(saved, dict):
                return cls(
                    {
                        purpose: [Response.model_validate(entry) for entry in turns]
                        for purpose, turns in saved["conversations"].items()
                    }
                )
            return cls([Response.model_validate(entry) for entry in saved][skip:])
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise ConfigError(f"cannot read the model script {path}: {exc}") from None

    @property
    def remaining(self) -> int:
        return len(self._script) - len(self.requests)

    def complete(self, request: Request) -> Response:
        if self._conversations is not None:
            self.requests.append(request)
            return self._answer(request)
        if self.remaining <= 0:
            asked = len(self.requests) + 1
            raise ProviderError(
                f"the script has {len(self._script)} responses; request #{asked} is one too many"
            )
        self.requests.append(request)
        return self._script[len(self.requests) - 1]

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        yield from replay_stream(self.complete(request))

    def _answer(self, request: Request) -> Response:
        assert self._conversations is not None
        turns = self._conversations.get(request.purpose)
        turn = sum(1 for message in request.messages if message.role == "assistant")
        if turns is None or turn >= len(turns):
            have = len(turns or ())
            raise ProviderError(
                f"the script has {have} answer(s) for {request.purpose or 'requests without a purpose'!r}; "
                f"turn #{turn + 1} is one too many"
            )
        return turns[turn]
