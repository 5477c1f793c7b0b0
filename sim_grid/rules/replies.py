"""Parsing of customers' SMS replies.

Rule: 1, 是, 参与, 同意 or Y means yes; 2, 否, 不参与 or N means no; STOP, 退订 or TD means
opt-out (the customer receives no further messages); START means opt-in again. Any other
text is kept as unparsed and is never acted on. Case, surrounding spaces, full-width characters and
trailing punctuation are ignored.
"""

from __future__ import annotations

import unicodedata

YES_WORDS = frozenset({"1", "是", "参与", "同意", "Y", "YES"})
NO_WORDS = frozenset({"2", "否", "不参与", "N", "NO"})
OPTOUT_WORDS = frozenset({"STOP", "退订", "TD"})
OPTIN_WORDS = frozenset({"START"})

_TRAILING_PUNCTUATION = " 。.！!，,；;~"


def parse_reply(text: str) -> str:
    """Classify a reply as yes, no, optout, optin or unparsed."""
    word = unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING_PUNCTUATION).strip().upper()
    if word in YES_WORDS:
        return "yes"
    if word in NO_WORDS:
        return "no"
    if word in OPTOUT_WORDS:
        return "optout"
    if word in OPTIN_WORDS:
        return "optin"
    return "unparsed"
