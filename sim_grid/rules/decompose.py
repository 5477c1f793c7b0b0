"""Splitting a target across districts or stations.

Rule: each part is proportional to its weight. The mean method (平均值法) weighs a part by
its mean load over the deficit window on the baseline days. The capacity method weighs it
by its contracted declared kW, and the equal method gives equal weights. The history method
weighs it by the response its customers delivered in earlier settled events. Parts are
rounded to a step (0.1 MW for districts and stations, 0.1 kW for customers) with the
largest-remainder (Hamilton) method, so they always sum exactly to the rounded total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def largest_remainder_split(total: float, weights: Sequence[float], step: float = 0.1) -> list[float]:
    """Split `total` in proportion to `weights` into multiples of `step` summing to the total.

    The total is first rounded to the step. Ties between equal remainders go to the earlier
    part. Raises ValueError when the weights are empty, negative or all zero.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")

    units = round(total / step)
    weight_sum = float(sum(weights))
    quotas = [units * w / weight_sum for w in weights]
    parts = [math.floor(q + 1e-9) for q in quotas]

    leftover = units - sum(parts)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1

    decimals = max(0, -math.floor(math.log10(step)))
    return [round(p * step, decimals) for p in parts]
