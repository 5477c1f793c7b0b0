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
