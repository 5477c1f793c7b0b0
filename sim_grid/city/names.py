"""Chinese names for generated districts, stations and customers."""

from __future__ import annotations

import numpy as np

DISTRICT_NAMES = (
    ("城南区", "城南"),
    ("城北区", "城北"),
    ("城东区", "城东"),
    ("城西区", "城西"),
    ("开发区", "开发"),
    ("高新区", "高新"),
    ("滨江区", "滨江"),
    ("新城区", "新城"),
    ("江北区", "江北"),
    ("湖滨区", "湖滨"),
)
# More districts for province-sized bases, after DISTRICT_NAMES.
EXTRA_DISTRICT_NAMES = (
    ("老城区", "老城"),
    ("经开区", "经开"),
    ("河西区", "河西"),
    ("河东区", "河东"),
    ("临港区", "临港"),
    ("城中区", "城中"),
    ("天河区", "天河"),
    ("海港区", "海港"),
    ("南湖区", "南湖"),
    ("北湖区", "北湖"),
    ("青山区", "青山"),
    ("龙华区", "龙华"),
    ("金水区", "金水"),
    ("工业园区", "工业园"),
)

PLACES = (
    "南湖", "北苑", "东郊", "西山", "新河", "龙潭", "桂园", "青石", "梅林", "长桥", "白沙", "金桥",
    "柳巷", "松岗", "枫林", "杏坛", "雨花", "仙林", "河西", "江心", "月湾", "石桥", "云台", "紫荆",
)
_BRANDS = ("恒达", "宏远", "华通", "永盛", "瑞丰", "鑫源", "中兴", "天成", "博远", "金鼎", "新锐", "安泰")
_INDUSTRIAL = ("机械厂", "纺织厂", "钢构公司", "化工厂", "电子厂", "制药公司", "塑料制品厂", "食品厂")
_COMMERCIAL = ("商场", "酒店", "写字楼", "超市", "购物中心", "医院后勤中心", "冷链仓库")
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高")


def customer_name(rng: np.random.Generator, sector: str) -> str:
    if sector == "industrial":
        return f"{rng.choice(_BRANDS)}{rng.choice(_INDUSTRIAL)}"
    if sector == "commercial":
        return f"{rng.choice(PLACES)}{rng.choice(_COMMERCIAL)}"
    return f"{rng.choice(_SURNAMES)}{rng.choice(('先生', '女士'))}"


class UniqueDraws:
    """Draws 6-digit user ids and mobile numbers (E.164, +86) without repeats."""

    def __init__(self, rng: np.random.Generator, reserved_ids: set[str] | None = None):
        self.rng = rng
        self.user_ids: set[str] = set(reserved_ids or ())
        self.phones: set[str] = set()

    def user_id(self) -> str:
        while True:
            value = str(self.rng.integers(100000, 1000000))
            if value not in self.user_ids:
                self.user_ids.add(value)
                return value

    def phone(self) -> str:
        while True:
            value = f"+861{self.rng.integers(3, 10)}{self.rng.integers(0, 10**9):09d}"
            if value not in self.phones:
                self.phones.add(value)
                return value
