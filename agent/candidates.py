"""The finite set of outputs the model may produce in one turn.

The model's output is either one tool call or one of a few fixed replies (greeting, refusal,
a request for a missing detail). Tool-call arguments are restricted to values that the
conversation licenses: districts and customer ids that were mentioned, MW figures that were
written next to a unit, dates named relatively or explicitly, and the enums of the contract.
This is the grammar of the constrained decoder: the model cannot emit malformed JSON, an
unknown tool, a district nobody mentioned or a number nobody wrote.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import get_args

from agent.template import render_tool_call
from tools.contract import TOOL_ARGS, DecomposeLevel, DecomposeMethod

# Fixed replies for turns that need no tool. The texts avoid digits so that the grounding
# check never has to excuse them.
CANNED_REPLIES: dict[str, str] = {
    "greeting": "您好，我是需求响应调度助手，可以查询负荷缺口预警、分解缺口、发送邀约和监督短信、统计回复、查看用户执行情况和生成效果报告。",
    "out_of_domain": "抱歉，这超出了我的职责范围。我只处理需求响应调度相关的工作，例如缺口预警、负荷分解、短信邀约和执行评估。",
    "refuse_dangerous": "该操作我不能执行：我无权拉闸限电、删除或篡改数据、修改系统设置。如确有需要，请按调度规程由人工处理。",
    "decline_ack": "好的，暂不操作。有需要随时告诉我。",
    "ask_district": "请问要对哪个区域操作？例如城南区。",
    "ask_user_id": "请提供要查询的六位用户编号。",
    "ask_gap": "请告诉我要分解的缺口大小，单位MW。",
}

_RELATIVE_DATES = ("today", "tomorrow", "yesterday")
# The sign is kept so that "-5MW" reaches the tool as -5 and is rejected there, not read as 5.
_MW_PATTERN = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:MW|mw|Mw|兆瓦)")
_USER_ID_PATTERN = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_ISO_PATTERN = re.compile(r"(?<!\d)(20\d\d)-(\d{1,2})-(\d{1,2})(?!\d)")
_MONTH_DAY_PATTERN = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})[日号]")
# A span that looks like a district name the city may not have ("城中区", "开发区").
_DISTRICT_SPAN = re.compile(r"([\u4e00-\u9fa5]{2}区)")
_NOT_DISTRICT_WORDS = ("各区", "全区", "分区", "区域", "地区", "小区", "辖区", "市区", "片区")


@dataclass
class Mentions:
    """Entities found in the conversation text, in order of first mention."""

    districts: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    gaps_mw: list[float | int] = field(default_factory=list)
    iso_dates: list[str] = field(default_factory=list)


def _append_unique(items: list, value) -> None:
    if value not in items:
        items.append(value)


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def find_mentions(texts: list[str], known_districts: list[str], today: dt.date, date_texts: list[str] | None = None) -> Mentions:
    """Collect the entities that tool arguments may use from ``texts`` (oldest first).

    ``known_districts`` are full names ("城南区"); a mention of the short form ("城南") counts.
    Unknown "X区" spans are kept as written so that the tool can answer that it does not know
    them instead of the model guessing a different district. Explicit dates come only from
    ``date_texts`` when given (the dispatcher's own messages): a reply that names the event day
    must not turn "明天" in the next request into a different date.
    """
    mentions = Mentions()
    date_sources = texts if date_texts is None else date_texts
    for text in texts:
        found: list[tuple[int, str]] = []
        for name in known_districts:
            short = name[:-1] if name.endswith("区") and len(name) > 2 else name
            position = text.find(short)
            if position >= 0:
                found.append((position, name))
        for match in _DISTRICT_SPAN.finditer(text):
            span = match.group(1)
            # Skip spans that overlap a known district ("业园区" inside "工业园区").
            covered = any(
                match.start(1) < position + len(name) and position < match.end(1) for position, name in found
            )
            if covered or any(word in span for word in _NOT_DISTRICT_WORDS):
                continue
            found.append((match.start(1), span))
        for _, name in sorted(found):
            _append_unique(mentions.districts, name)

        for match in _USER_ID_PATTERN.finditer(text):
            _append_unique(mentions.user_ids, match.group(1))
        for match in _MW_PATTERN.finditer(text):
            _append_unique(mentions.gaps_mw, _number(match.group(1)))

    for text in date_sources:
        for match in _ISO_PATTERN.finditer(text):
            _append_unique(mentions.iso_dates, _iso(int(match.group(1)), int(match.group(2)), int(match.group(3))))
        for match in _MONTH_DAY_PATTERN.finditer(text):
            _append_unique(mentions.iso_dates, nearest_month_day(today, int(match.group(1)), int(match.group(2))))
    mentions.iso_dates = [value for value in mentions.iso_dates if value]
    return mentions


def nearest_month_day(today: dt.date, month: int, day: int) -> str | None:
    """Resolve "M月D日" to the year that puts it nearest to ``today`` (12月25日 in January is last year)."""
    options = [_iso(year, month, day) for year in (today.year - 1, today.year, today.year + 1)]
    options = [value for value in options if value]
    if not options:
        return None
    return min(options, key=lambda value: abs((dt.date.fromisoformat(value) - today).days))


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def argument_choices(tool: str, mentions: Mentions) -> dict[str, list]:
    """Return the admissible values of each argument of ``tool``, in contract field order."""
    choices: dict[str, list] = {}
    for name, info in TOOL_ARGS[tool].model_fields.items():
        required = info.is_required()
        if name == "date":
            values: list = list(_RELATIVE_DATES) + mentions.iso_dates
            if not required and info.default is None:
                values = [None] + values
        elif name == "district":
            values = list(mentions.districts)
            if not required:
                values = [None] + values
        elif name == "user_id":
            values = list(mentions.user_ids)
            if not required:
                values = [None] + values
        elif name == "gap_mw":
            values = list(mentions.gaps_mw)
        elif name == "method":
            values = list(get_args(DecomposeMethod))
        elif name == "level":
            values = list(get_args(DecomposeLevel))
        elif name == "recipients":
            values = [None]
        else:
            raise KeyError(f"no candidate rule for argument {tool}.{name}")
        choices[name] = values
    return choices


def enumerate_calls(tool: str, mentions: Mentions, max_calls: int = 4000) -> list[tuple[dict, str]]:
    """Return every admissible call of ``tool`` as (arguments, rendered text)."""
    choices = argument_choices(tool, mentions)
    if any(not values for values in choices.values()):
        return []
    names = list(choices)
    calls = []
    for combo in itertools.product(*(choices[name] for name in names)):
        arguments = dict(zip(names, combo))
        calls.append((arguments, render_tool_call(tool, arguments)))
        if len(calls) >= max_calls:
            break
    return calls


@dataclass(frozen=True)
class Candidate:
    """One complete output the decoder may choose: a tool call or a fixed reply."""

    text: str
    tool: str | None = None
    arguments: dict | None = None
    reply_kind: str | None = None


# A request for a missing detail is admissible only while the newest message lacks that detail.
_ASKS_FOR = {"ask_district": "districts", "ask_user_id": "user_ids", "ask_gap": "gaps_mw"}


def build_candidates(mentions: Mentions, tools: list[str] | None = None, current: Mentions | None = None) -> list[Candidate]:
    """Return the whole output language for one turn.

    ``current`` holds the entities of the newest dispatcher message alone; when given, asking
    for a detail that message already states ("请问要对哪个区域操作？" after "给城北区…") is
    left out.
    """
    candidates = [
        Candidate(text=text, reply_kind=kind)
        for kind, text in CANNED_REPLIES.items()
        if current is None or kind not in _ASKS_FOR or not getattr(current, _ASKS_FOR[kind])
    ]
    for tool in tools or list(TOOL_ARGS):
        for arguments, text in enumerate_calls(tool, mentions):
            candidates.append(Candidate(text=text, tool=tool, arguments=arguments))
    return candidates
