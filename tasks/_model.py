"""Asking the model for one answer (analysis, plan) outside the coding agent's tool loop."""

from __future__ import annotations

import json
import re
from typing import Any

from tamma.errors import ProviderError
from tamma.providers import Message, Request
from tasks._context import RunContext

__all__ = ["ask_model", "json_answer"]

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def ask_model(ctx: RunContext, purpose: str, system: str, prompt: str, *, max_tokens: int = 4096) -> str:
    """One single-turn question (`purpose`: analysis, plan) and the model's text answer."""
    response = ctx.provider.complete(
        Request(system=system, messages=(Message.user(prompt),), max_tokens=max_tokens, purpose=purpose)
    )
    return response.text


def json_answer(text: str, what: str) -> dict[str, Any]:
    """The JSON object in a model's answer (models wrap it in prose or fences now and then)."""
    found = _JSON_OBJECT.search(text)
    try:
        value = json.loads(found.group(0)) if found else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError(f"the model's {what} is not the JSON object asked for: {text[:200]!r}")
    return value
