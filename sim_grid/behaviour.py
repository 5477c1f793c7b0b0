"""Seeded customer behaviour: how a customer replies to an invitation and how much it cuts.

A plan is drawn once per (customer, event day) from a generator seeded by the city seed,
the customer and the day, so the same city replays the same story in any call order. A follow-up reminder does not
change the plan: silent customers stay silent.
"""

from __future__ import annotations

import numpy as np
from sqlmodel import Session, select

from sim_grid.clock import city_seed
from sim_grid.db import encode_curve, seeded_rng
from sim_grid.models import Customer, Event, ResponsePlan
from sim_grid.settings import DRSettings

# Reply probabilities per sector: yes, no, opt-out, unparsed text, silence.
REPLY_KINDS = ("yes", "no", "optout", "unparsed", "none")
REPLY_PROBABILITIES = {
    "industrial": (0.70, 0.14, 0.01, 0.02, 0.13),
    "commercial": (0.62, 0.18, 0.02, 0.02, 0.16),
    "residential": (0.48, 0.22, 0.03, 0.03, 0.24),
}
# Reply delay range in minutes after the invitation, per sector.
REPLY_DELAY_MINUTES = {"industrial": (5, 180), "commercial": (10, 300), "residential": (15, 420)}

REPLY_TEXTS = {
    "yes": ("1", "1", "是", "参与", "同意", "Y"),
    "no": ("2", "2", "否", "不参与", "N"),
    "optout": ("TD", "退订", "STOP"),
    "unparsed": ("几点开始？", "补贴什么时候到账", "请来电联系我", "收到"),
}


def window_response_kw(
    rng: np.random.Generator, declared_kw: float, start: int, end: int, intervals: int, mean_rate: float
) -> np.ndarray:
    """Draw a reduction curve around mean_rate × declared kW inside [start, end), zero elsewhere."""
    response = np.zeros(intervals)
    noise = rng.normal(0.0, 0.06, end - start)
    response[start:end] = declared_kw * np.clip(mean_rate + noise, 0.0, None)
    return response


def draw_plan(seed: int, customer: Customer, event: Event, settings: DRSettings) -> ResponsePlan:
    """Draw the reply and the reduction of one customer for one event."""
    rng = seeded_rng("plan", seed, customer.user_id, event.day.isoformat())
    kind = str(rng.choice(REPLY_KINDS, p=REPLY_PROBABILITIES[customer.sector]))
    text = str(rng.choice(REPLY_TEXTS[kind])) if kind != "none" else None
    low, high = REPLY_DELAY_MINUTES[customer.sector]
    delay = int(rng.integers(low, high + 1))

    # Most participants deliver about their declared reduction; one in eight falls short.
    mean_rate = float(rng.uniform(0.25, 0.7)) if rng.random() < 0.125 else float(rng.uniform(0.9, 1.15))
    response = window_response_kw(
        rng, customer.declared_kw, event.start_interval, event.end_interval, settings.intervals_per_day, mean_rate
    )
    return ResponsePlan(
        customer_id=customer.id,
        day=event.day,
        reply_kind=kind,
        reply_text=text,
        reply_delay_minutes=delay,
        response_kw=encode_curve(response),
    )


def plan_for(session: Session, customer: Customer, event: Event, settings: DRSettings) -> ResponsePlan:
    """Return the customer's plan for the event, drawing and storing it on first use."""
    plan = session.exec(
        select(ResponsePlan).where(ResponsePlan.customer_id == customer.id, ResponsePlan.day == event.day)
    ).first()
    if plan is None:
        plan = draw_plan(city_seed(session), customer, event, settings)
        session.add(plan)
    return plan
