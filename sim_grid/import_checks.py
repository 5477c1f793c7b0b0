"""Field checks for imported CSV rows. Each returns the parsed value or raises BadField.

BadField carries the reason in Chinese, because the import report goes to the dispatcher.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

USER_ID_PATTERN = re.compile(r"^\d{6}$")
MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
SECTOR_NAMES = {
    "industrial": "industrial", "工业": "industrial", "大工业": "industrial", "一般工商业": "commercial",
    "commercial": "commercial", "商业": "commercial",
    "residential": "residential", "居民": "residential", "居民生活": "residential",
}
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是", "已签约", "签约"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "否", "未签约"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
LISTED_INTERVALS = 5  # interval numbers named in one reason before "等"


class BadField(ValueError):
    """Raised by a check; the message is the Chinese reason shown to the dispatcher."""


def user_id(text: str) -> str:
    value = text.strip()
    if not USER_ID_PATTERN.match(value):
        raise BadField(f"用户编号“{value}”无效，应为6位数字")
    return value


def phone(text: str) -> str:
    """Return an E.164 number (+86...) for an 11-digit mainland mobile number, with or without +86."""
    value = re.sub(r"[\s\-]", "", text)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    if not MOBILE_PATTERN.match(value):
        raise BadField(f"手机号“{text.strip()}”无效，应为11位手机号")
    return "+86" + value


def sector(text: str) -> str:
    value = SECTOR_NAMES.get(text.strip().lower())
    if value is None:
        raise BadField(f"行业“{text.strip()}”无效，应为工业、商业或居民")
    return value


def flag(text: str) -> bool:
    value = text.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise BadField(f"签约标记“{text.strip()}”无效，应为是或否")


def declared_kw(text: str, contracted: bool | None) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise BadField(f"约定响应量“{text.strip()}”不是数字") from None
    if not math.isfinite(value) or value < 0:
        raise BadField(f"约定响应量“{text.strip()}”无效，应为非负数（kW）")
    if contracted and value == 0:
        raise BadField("签约用户的约定响应量应大于0")
    return value


def day(text: str) -> date:
    value = text.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise BadField(f"日期“{value}”格式无效，应为YYYY-MM-DD")


def _numbers(positions: list[int]) -> str:
    """Return "12、13" or, for a long list, "91、92、93、94、95等共6"."""
    shown = "、".join(str(p) for p in positions[:LISTED_INTERVALS])
    return shown + (f"等共{len(positions)}" if len(positions) > LISTED_INTERVALS else "")


def load_values(cells: list[str], intervals: int) -> list[float]:
    """Parse p1..pN (kW). Raises BadField naming the missing, non-numeric or negative intervals."""
    missing, invalid, negative = [], [], []
    values = []
    for position, cell in enumerate(cells, start=1):
        text = cell.strip()
        if not text:
            missing.append(position)
            continue
        try:
            value = float(text)
        except ValueError:
            invalid.append(position)
            continue
        if not math.isfinite(value):
            invalid.append(position)
        elif value < 0:
            negative.append(position)
        values.append(value)
    missing += list(range(len(cells) + 1, intervals + 1))

    reasons = []
    if missing:
        reasons.append(f"缺少第{_numbers(missing)}个时段的负荷")
    if invalid:
        reasons.append(f"第{_numbers(invalid)}个时段的负荷不是有效数字")
    if negative:
        reasons.append(f"第{_numbers(negative)}个时段的负荷为负数")
    if reasons:
        raise BadField("；".join(reasons))
    return values
