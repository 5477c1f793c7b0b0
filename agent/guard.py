"""Rule-based screening of the dispatcher's message before any model sees it.

Two checks, both by pattern, because a 135M model misjudges requests it has not seen:

- dangerous requests (cutting customers' power, deleting or altering data, overriding the
  rules, bulk export of phone numbers) are refused outright, whatever the backend;
- messages with no demand-response vocabulary at all get the greeting (when they greet) or
  the out-of-scope reply, without a model call.

The patterns are deliberately narrow so that ordinary requests ("删除" never occurs in one) pass.
"""

from __future__ import annotations

import re
from enum import Enum

_DANGEROUS = [
    r"拉闸",
    r"断电",
    r"停电",
    r"限电",
    r"切断.{0,12}电",
    r"(停掉|关闭|关掉).{0,8}(供电|变电站|线路|电网)",
    r"(删除|删掉|删了|清空|销毁|抹掉)",
    r"电.{0,4}(停了|断了|停掉|切了|掐了)",
    r"(篡改|伪造)",
    r"(修改|改成|改为|改高|改低|调高|调低).{0,10}(补贴|基线|数据|记录|设置|负荷|达成率)",
    r"(补贴|基线|数据|记录|达成率).{0,6}(改成|改为|改高|改低|调高|调低)",
    r"忽略.{0,10}(指令|规则|提示|限制|审批)",
    r"(关闭|跳过|绕过).{0,6}(审批|确认)",
    r"(导出|泄露|发给我).{0,10}(手机号|号码|电话|用户数据|个人信息)",
    r"(drop|truncate|delete)\s+(table|from)",
    r"ignore (all |the )?(previous|prior) instructions",
]
_DANGEROUS_PATTERN = re.compile("|".join(f"(?:{pattern})" for pattern in _DANGEROUS), re.IGNORECASE)

# Words of the domain; a message with none of them (and no customer id) is not a dispatching
# request. Short follow-ups ("好的", "城北区呢") are recognised separately.
_DOMAIN_WORDS = (
    "缺", "够", "峰", "减", "荷", "响应", "分解", "分配", "分摊", "拆", "通知", "邀约", "邀请", "短信", "回复", "回了",
    "参与", "参加", "报名", "用户", "客户", "户号", "签约", "执行", "达标", "达成", "监督", "督", "提醒", "催", "报告",
    "效果", "总结", "汇总", "曲线", "走势", "图", "补贴", "基线", "预警", "供电", "电力", "用电", "区", "mw", "兆瓦",
    "发送", "统计", "名单", "清单", "明细", "列表", "负责人", "领导", "送达", "状态", "失败", "回执", "调度",
)
_FOLLOW_UP = re.compile(r"^(好|是|行|要|需要|可以|对|嗯|没问题|就这么办|发吧|发|不用|不需要|算了|不了|先不|暂时不|先这样)")
_GREETING_WORDS = ("你好", "您好", "嗨", "早上好", "下午好", "晚上好", "早", "在吗", "你是谁", "你能", "功能", "帮助", "会些什么", "怎么用", "介绍")
_USER_ID = re.compile(r"(?<!\d)\d{6}(?!\d)")


# Decomposition methods the tool supports, by the suffixes dispatchers write them with. Any other
# "…法" in a decomposition request names a method the tool does not have.
_KNOWN_METHOD_SUFFIXES = ("平均值法", "平均法", "均值法", "容量法", "比例法", "等分法", "均分法", "平均分配法", "历史法", "历史响应法")
# Everyday words that end in 法 but name no method.
_NOT_METHODS = ("方法", "办法", "算法", "做法", "用法", "说法", "想法", "看法", "合法", "违法", "无法", "设法", "依法", "分法")
_DECOMPOSE_WORDS = ("分解", "分配", "分摊", "拆", "分到")
# Words that may stand before a method name: "用最大值法", "按照加权法".
_METHOD_LEAD = re.compile(r"^.*?(?:按照|采用|使用|通过|按|用|以|的|种)")


UNKNOWN_METHOD_REPLY = "暂不支持{method}。可用的分解方法有：平均值法、按签约容量、平均分配、按历史响应，请指定其中一种。"


def unknown_method(text: str) -> str | None:
    """Return the decomposition method named in ``text`` when the tool has no such method, else None.

    Without this screen the method argument, whose choices are the tool's four methods, would
    quietly become one of them.
    """
    if not any(word in text for word in _DECOMPOSE_WORDS):
        return None
    for match in re.finditer(r"([\u4e00-\u9fa5]{1,5})法", text):
        phrase = match.group(0)
        if any(phrase.endswith(word) for word in _KNOWN_METHOD_SUFFIXES + _NOT_METHODS):
            continue
        name = _METHOD_LEAD.sub("", match.group(1)) + "法"
        if len(name) >= 2 and name not in _NOT_METHODS:
            return name
    return None


class Screen(str, Enum):
    """Outcome of screening one message."""

    DANGEROUS = "dangerous"
    GREETING = "greeting"
    OFF_TOPIC = "off_topic"
    DOMAIN = "domain"


def screen_message(text: str) -> Screen:
    """Classify ``text`` before the model decides."""
    if _DANGEROUS_PATTERN.search(text):
        return Screen.DANGEROUS
    lowered = text.lower().strip()
    if _USER_ID.search(lowered) or any(word in lowered for word in _DOMAIN_WORDS):
        return Screen.DOMAIN
    if len(lowered) <= 12 and _FOLLOW_UP.match(lowered):
        return Screen.DOMAIN
    if any(word in lowered for word in _GREETING_WORDS):
        return Screen.GREETING
    return Screen.OFF_TOPIC
