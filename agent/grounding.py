"""The grounding check: every number in a reply must come from a tool result or the dispatcher.

A small model can write a plausible figure that no tool returned. A reply is grounded when each
number in it (integers, decimals, percentages, times such as 14:00) also occurs in one of the
source texts. An ungrounded reply is replaced by the summary rendered from the tool result.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(r"\d+(?:[.:]\d+)*")


def numbers_in(text: str) -> set[str]:
    """Return the numbers written in ``text``, normalised (``8.0`` and ``8`` are the same)."""
    found = set()
    for token in _NUMBER.findall(text):
        found.add(token)
        if re.fullmatch(r"\d+\.\d+", token):
            found.add(str(float(token)).rstrip("0").rstrip("."))
    return found


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def ungrounded_numbers(reply: str, sources: list[Any]) -> set[str]:
    """Return the numbers of ``reply`` that occur in none of ``sources``."""
    allowed: set[str] = set()
    for source in sources:
        allowed |= numbers_in(_flatten(source))
    missing = set()
    for token in _NUMBER.findall(reply):
        normalised = str(float(token)).rstrip("0").rstrip(".") if re.fullmatch(r"\d+\.\d+", token) else token
        if token not in allowed and normalised not in allowed:
            missing.add(token)
    return missing


def is_grounded(reply: str, sources: list[Any]) -> bool:
    return not ungrounded_numbers(reply, sources)
