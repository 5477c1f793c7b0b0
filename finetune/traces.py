"""Generate Chinese tool-call traces for fine-tuning and evaluation.

A scripted policy fills phrasing templates with districts, customer ids, MW figures, dates and
methods, and writes the call the dispatcher's words imply. Follow-up turns put a previous
request and the assistant's reply (with its offer of a next step) before the new message, as
the agent's context window does at inference. Every target is checked to lie inside the
constrained decoder's candidate set for that context, so training never teaches an output the
decoder could not produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.candidates import CANNED_REPLIES, build_candidates, find_mentions
from agent.context import conversation_texts, user_texts
from agent.template import canonical_arguments
from finetune.phrasings import (
    AFFIRMATIONS,
    CANNED_PHRASINGS,
    DATE_PHRASES,
    DECLINES,
    DISTRICT_POOL,
    METHOD_PHRASES,
    TOOL_PHRASINGS,
)
from tools.contract import TOOL_ARGS

# Date a tool falls back to when the dispatcher names none. The report tools need a date and
# take today's event by default.
DEFAULT_DATE = {name: model.model_fields["date"].default for name, model in TOOL_ARGS.items()}
DEFAULT_DATE["generate_effect_report"] = "today"
DEFAULT_DATE["send_report"] = "today"


@dataclass
class TraceConfig:
    """Sizes and seed of a generated dataset; saved next to the data it produced."""

    seed: int = 7
    single_per_tool: int = 100  # single-turn samples per tool, training split
    canned_per_kind: int = 60  # samples per fixed-reply kind, training split
    followups: int = 400  # follow-up samples, training split
    test_per_tool: int = 12
    test_canned_per_kind: int = 6
    test_followups: int = 40


class _Sampler:
    """One random city and date context, with slot fillers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        count = rng.randint(3, 6)
        self.districts = rng.sample(DISTRICT_POOL, count)
        if rng.random() < 0.35:
            self.districts = ["城南区", "城北区", "城东区", "城西区"]
        self.today = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 360))

    def district(self, allow_unknown: bool = True) -> tuple[str, str]:
        """Return (mention as written, argument value)."""
        if allow_unknown and self.rng.random() < 0.15:
            # Unknown names are detected as "XX区" spans, so only three-character names qualify.
            unknown = self.rng.choice([name for name in DISTRICT_POOL if name not in self.districts and len(name) == 3])
            return unknown, unknown
        name = self.rng.choice(self.districts)
        if self.rng.random() < 0.35 and len(name) > 2:
            return name[:-1], name
        return name, name

    def date(self) -> tuple[str, str]:
        """Return (date phrase, argument value)."""
        roll = self.rng.random()
        if roll < 0.45:
            kind = "tomorrow"
        elif roll < 0.75:
            kind = "today"
        elif roll < 0.85:
            kind = "yesterday"
        else:
            day = self.today + dt.timedelta(days=self.rng.randint(-20, 3))
            if self.rng.random() < 0.6:
                return f"{day.month}月{day.day}日", day.isoformat()
            return day.isoformat(), day.isoformat()
        return self.rng.choice(DATE_PHRASES[kind]), kind

    def gap(self) -> tuple[str, float | int]:
        value: float | int = self.rng.choice([self.rng.randint(5, 120), round(self.rng.uniform(3, 90), 1)])
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        unit = self.rng.choice(["MW", "MW", "兆瓦", " MW"])
        return f"{value}{unit}", value

    def user_id(self) -> str:
        return str(self.rng.randint(100000, 999999))

    def method(self) -> tuple[str, str]:
        method = self.rng.choice(list(METHOD_PHRASES))
        return self.rng.choice(METHOD_PHRASES[method]), method


def _tool_message(name: str, arguments: dict) -> dict:
    return {
        "role": "assistant",
        "tool_calls": [{"type": "function", "function": {"name": name, "arguments": canonical_arguments(arguments)}}],
    }


def fill_tool_template(tool: str, template: str, sampler: _Sampler) -> tuple[str, dict]:
    """Fill ``template`` and return (dispatcher text, arguments the text implies)."""
    values: dict[str, str] = {}
    arguments: dict = {}
    date_value = DEFAULT_DATE.get(tool)
    district_value = None

    if "{date}" in template:
        values["date"], date_value = sampler.date()
    if "{d}" in template:
        values["d"], district_value = sampler.district()
    if "{gap}" in template:
        values["gap"], arguments["gap_mw"] = sampler.gap()
    method = "mean"
    if "{method}" in template:
        values["method"], method = sampler.method()
    user_id = None
    if "{uid}" in template:
        user_id = values["uid"] = sampler.user_id()
    text = template.format(**values)

    for name in TOOL_ARGS[tool].model_fields:
        if name == "date":
            arguments["date"] = date_value
        elif name == "district":
            arguments["district"] = district_value
        elif name == "method":
            arguments["method"] = method
        elif name == "level":
            arguments["level"] = "station" if "供电所" in text else "district"
        elif name == "user_id":
            arguments["user_id"] = user_id
        elif name == "recipients":
            arguments["recipients"] = None
    ordered = {name: arguments[name] for name in TOOL_ARGS[tool].model_fields}
    return text, ordered


def _fake_summary(tool: str, arguments: dict, sampler: _Sampler) -> str:
    """Return a plausible assistant reply after ``tool``, ending with the offer of the next step."""
    rng = sampler.rng
    district = arguments.get("district") or ""
    if tool == "get_deficit_warning":
        start = rng.choice([13, 14, 15, 16, 17, 18, 19])
        hours = rng.choice([2, 3, 4])
        peak = rng.choice([12, 18, 25, 30, 36, 45, 52])
        return f"预计{start}:00-{start + hours}:00出现负荷缺口，最大缺口{peak}MW，持续{hours}小时，建议启动需求响应。是否按缺口分解到各区域？"
    if tool == "decompose_deficit":
        parts = "，".join(f"{name}{rng.randint(3, 15)}MW" for name in sampler.districts)
        return f"已按平均值法分解：{parts}。是否进一步分解到各供电所？"
    if tool == "send_dr_notification":
        users = rng.randint(40, 300)
        return f"已向{district}{users}位签约用户发送需求响应邀约短信，响应时段14:00-18:00，补贴0.8元/kWh。是否查看短信发送状态？"
    if tool == "count_replies":
        yes = rng.randint(20, 150)
        return f"{district}已有{yes}位用户回复参与，参与率{rng.randint(30, 90)}.{rng.randint(0, 9)}%，预计响应{rng.randint(2, 9)}.{rng.randint(10, 99)}MW，低于目标。是否向未回复的用户发送追加通知？"
    if tool == "get_user_execution":
        day = sampler.today - dt.timedelta(days=rng.randint(1, 20))
        return f"用户{arguments['user_id']}在{day.month}月{day.day}日的事件中基线负荷{rng.randint(60, 300)}kW，削减{rng.randint(10, 80)}kW，达成率{rng.randint(60, 130)}.{rng.randint(0, 9)}%。是否查看该用户的负荷曲线？"
    if tool == "send_supervision_sms":
        return f"已向{rng.randint(3, 30)}位未达标用户发送监督短信。是否查看未达标用户明细？"
    if tool == "generate_effect_report":
        return f"实际削减{rng.randint(10, 60)}.{rng.randint(0, 9)}MW，总体达成率{rng.randint(70, 99)}.{rng.randint(0, 9)}%，参与{rng.randint(100, 500)}户。报告已生成，是否发送给相关负责人？"
    if tool == "list_underperformers":
        return f"共有{rng.randint(3, 30)}位未达标用户，差距最大的是用户{sampler.user_id()}。是否发送监督短信？"
    if tool == "get_sms_status":
        sent = rng.randint(50, 300)
        return f"{district}短信已发送{sent}条，送达{sent - rng.randint(0, 5)}条，失败{rng.randint(0, 5)}条。是否统计用户回复？"
    raise KeyError(tool)


# previous tool -> (next tool on an affirmation, how its arguments follow from the previous call)
def _followup_target(prev_tool: str, prev_args: dict, prev_reply: str) -> tuple[str, dict] | None:
    date = prev_args.get("date")
    district = prev_args.get("district")
    if prev_tool == "get_deficit_warning":
        peak = float(prev_reply.split("最大缺口")[1].split("MW")[0])
        gap = int(peak) if peak.is_integer() else peak
        return "decompose_deficit", {"gap_mw": gap, "method": "mean", "date": date, "level": "district", "district": None}
    if prev_tool == "send_dr_notification":
        return "get_sms_status", {"district": district, "date": date}
    if prev_tool == "count_replies" and district:
        return "send_followup_notice", {"district": district, "date": date}
    if prev_tool == "get_user_execution":
        # Dates come only from the dispatcher's words, so the curve is of the day they named.
        return "get_load_curve", {"user_id": prev_args["user_id"], "district": None, "date": date or "today"}
    if prev_tool == "send_supervision_sms":
        return "list_underperformers", {"date": date, "district": district}
    if prev_tool == "generate_effect_report":
        return "send_report", {"date": date, "recipients": None}
    if prev_tool == "list_underperformers":
        return "send_supervision_sms", {"date": date, "district": district}
    if prev_tool == "get_sms_status":
        return "count_replies", {"date": date, "district": district}
    return None


FOLLOWUP_SOURCES = [
    "get_deficit_warning", "send_dr_notification", "count_replies", "get_user_execution",
    "send_supervision_sms", "generate_effect_report", "list_underperformers", "get_sms_status",
]

# Elliptical follow-ups: the same tool for another district or customer.
ELLIPSIS = {
    "train": {"d": ["{d}呢？", "那{d}呢", "{d}也查一下", "再看看{d}"], "uid": ["那{uid}呢？", "再查一下{uid}", "{uid}呢"]},
    "test": {"d": ["换成{d}看看"], "uid": ["{uid}的也看一下"]},
}


def _pick_template(rng: random.Random, templates: dict[str, list[str]], split: str) -> str:
    return rng.choice(templates[split])


def _first_turn(tool: str, sampler: _Sampler, split: str, need: str | None = None) -> tuple[str, dict]:
    templates = [t for t in TOOL_PHRASINGS[tool][split] if need is None or need in t]
    if not templates:
        templates = [t for t in TOOL_PHRASINGS[tool]["train"] if need is None or need in t]
    template = sampler.rng.choice(templates)
    return fill_tool_template(tool, template, sampler)


def make_followup(sampler: _Sampler, split: str) -> dict:
    rng = sampler.rng
    prev_tool = rng.choice(FOLLOWUP_SOURCES)
    need = "{d}" if prev_tool in ("send_dr_notification", "count_replies", "get_sms_status") else None
    if prev_tool == "get_user_execution":
        need = "{uid}"
    prev_text, prev_args = _first_turn(prev_tool, sampler, "train", need)
    if prev_args.get("district") and prev_args["district"] not in sampler.districts:
        # A follow-up on an unknown district makes no sense: the first reply was an error.
        known = rng.choice(sampler.districts)
        prev_text = prev_text.replace(prev_args["district"], known)
        prev_args["district"] = known
    reply = _fake_summary(prev_tool, prev_args, sampler)
    # The earlier reply is context: weight 0 keeps its made-up figures out of the loss.
    history = [{"role": "user", "content": prev_text}, {"role": "assistant", "content": reply, "weight": 0}]

    roll = rng.random()
    if roll < 0.15:
        message = rng.choice(DECLINES[split])
        target = {"role": "assistant", "content": CANNED_REPLIES["decline_ack"]}
        kind = "decline_ack"
    elif roll < 0.35 and prev_tool in ("count_replies", "send_dr_notification", "get_user_execution", "get_sms_status"):
        if prev_tool == "get_user_execution":
            uid = sampler.user_id()
            message = rng.choice(ELLIPSIS[split]["uid"]).format(uid=uid)
            arguments = dict(prev_args, user_id=uid)
        else:
            others = [name for name in sampler.districts if name != prev_args["district"]]
            other = rng.choice(others)
            message = rng.choice(ELLIPSIS[split]["d"]).format(d=other)
            arguments = dict(prev_args, district=other)
        target = _tool_message(prev_tool, arguments)
        kind = prev_tool
    else:
        next_tool, arguments = _followup_target(prev_tool, prev_args, reply)
        message = rng.choice(AFFIRMATIONS[split])
        target = _tool_message(next_tool, arguments)
        kind = next_tool
    messages = history + [{"role": "user", "content": message}, target]
    return _sample(messages, kind, "followup", sampler)


# Politeness and filler around a request, so that the model keys on the request itself.
PREFIXES = ["", "", "", "", "请", "帮我", "麻烦", "你好，", "小助手，", "请帮忙"]
SUFFIXES = ["", "", "", "", "，谢谢", "。", "！", "，尽快", "吧"]


def _decorate(text: str, rng: random.Random) -> str:
    prefix = rng.choice(PREFIXES)
    suffix = rng.choice(SUFFIXES) if not text.endswith(("？", "?", "吗")) else ""
    return prefix + text + suffix


def make_single(tool: str, sampler: _Sampler, split: str) -> dict:
    template = _pick_template(sampler.rng, TOOL_PHRASINGS[tool], split)
    text, arguments = fill_tool_template(tool, template, sampler)
    text = _decorate(text, sampler.rng)
    messages = [{"role": "user", "content": text}, _tool_message(tool, arguments)]
    return _sample(messages, tool, "single", sampler)


def make_canned(kind: str, sampler: _Sampler, split: str) -> dict:
    template = _pick_template(sampler.rng, CANNED_PHRASINGS[kind], split)
    text = template.format(d=sampler.district(allow_unknown=False)[0]) if "{d}" in template else template
    messages = [{"role": "user", "content": text}, {"role": "assistant", "content": CANNED_REPLIES[kind]}]
    return _sample(messages, kind, "canned", sampler)


def _sample(messages: list[dict], kind: str, shape: str, sampler: _Sampler) -> dict:
    sample = {
        "messages": messages,
        "meta": {"kind": kind, "shape": shape, "today": sampler.today.isoformat(), "districts": sampler.districts},
    }
    check_target_admissible(sample)
    return sample


def check_target_admissible(sample: dict) -> None:
    """Raise if the sample's target is not one of the decoder's candidates for its context."""
    from agent.template import render_tool_call

    messages = sample["messages"]
    meta = sample["meta"]
    context = messages[:-1]
    mentions = find_mentions(conversation_texts(context), meta["districts"], dt.date.fromisoformat(meta["today"]), user_texts(context))
    texts = {candidate.text for candidate in build_candidates(mentions)}
    target = messages[-1]
    if target.get("tool_calls"):
        function = target["tool_calls"][0]["function"]
        rendered = render_tool_call(function["name"], json.loads(function["arguments"]))
    else:
        rendered = target["content"]
    if rendered not in texts:
        raise ValueError(f"target outside the candidate set: {rendered} for {messages[:-1]}")


def generate(config: TraceConfig) -> dict[str, list[dict]]:
    """Return {"train": [...], "test": [...]} samples."""
    rng = random.Random(config.seed)
    splits: dict[str, list[dict]] = {}
    for split, per_tool, per_kind, followups in (
        ("train", config.single_per_tool, config.canned_per_kind, config.followups),
        ("test", config.test_per_tool, config.test_canned_per_kind, config.test_followups),
    ):
        samples = []
        for tool in TOOL_PHRASINGS:
            for _ in range(per_tool):
                samples.append(make_single(tool, _Sampler(rng), split))
        for kind in CANNED_PHRASINGS:
            for _ in range(per_kind):
                samples.append(make_canned(kind, _Sampler(rng), split))
        for _ in range(followups):
            samples.append(make_followup(_Sampler(rng), split))
        rng.shuffle(samples)
        splits[split] = samples
    return splits


def write_dataset(config: TraceConfig, folder: Path) -> dict:
    """Write train/test JSONL and a dataset card; return the card."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = generate(config)
    card: dict = {"config": asdict(config), "splits": {}}
    digest = hashlib.sha256()
    for split, samples in splits.items():
        path = folder / f"{split}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for sample in samples:
                line = json.dumps(sample, ensure_ascii=False)
                handle.write(line + "\n")
                digest.update(line.encode())
        counts: dict[str, int] = {}
        for sample in samples:
            counts[sample["meta"]["kind"]] = counts.get(sample["meta"]["kind"], 0) + 1
        card["splits"][split] = {"samples": len(samples), "per_kind": dict(sorted(counts.items()))}
    card["sha256"] = digest.hexdigest()
    card["held_out"] = "test templates never occur in training (finetune/phrasings.py, key 'test')"
    with open(folder / "dataset_card.json", "w", encoding="utf-8") as handle:
        json.dump(card, handle, ensure_ascii=False, indent=2)
    return card


def load_split(folder: Path, split: str) -> list[dict]:
    with open(folder / f"{split}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
