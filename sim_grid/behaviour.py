"""Seeded customer behaviour: how a customer replies to an invitation and how much it cuts.

A plan is drawn once per (customer, event day) from a generator seeded by the city seed,
the customer and the day, so the same city replays the same story in any call order. A follow-up reminder does not
change the plan: silent customers stay silent. A supervision SMS can: a share of customers,
by sector, raise their reduction to about the declared kW some minutes after it arrives
(sim_grid.responses applies that when the load is read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from sim_grid.clock import city_seed
from sim_grid.db import encode_curve, seeded_rng
from sim_grid.models import Customer, Event, ResponsePlan
from sim_grid.responses import id_chunks
from sim_grid.rules import direction_sign
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

# Share of participants, per sector, who raise their reduction after a supervision SMS, the
# range of minutes they take to react, and the range of the rate (of declared kW) they then hold.
SUPERVISION_REACTION_SHARE = {"industrial": 0.6, "commercial": 0.5, "residential": 0.3}
SUPERVISION_REACTION_MINUTES = (10, 45)
SUPERVISED_RATE = (0.85, 1.05)

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

    # Drawn after the reply and the reduction, so that those do not depend on these draws.
    reacts = rng.random() < SUPERVISION_REACTION_SHARE[customer.sector]
    reaction_minutes = int(rng.integers(SUPERVISION_REACTION_MINUTES[0], SUPERVISION_REACTION_MINUTES[1] + 1))
    supervised_kw = customer.declared_kw * float(rng.uniform(*SUPERVISED_RATE))

    # A valley-filling participant raises its load: its planned change is negative.
    sign = direction_sign(event.direction)
    return ResponsePlan(
        customer_id=customer.id,
        day=event.day,
        reply_kind=kind,
        reply_text=text,
        reply_delay_minutes=delay,
        response_kw=encode_curve(sign * response),
        supervision_reaction_minutes=reaction_minutes if reacts else None,
        supervised_response_kw=sign * supervised_kw,
    )


_PLAN_CACHE = "response_plans"


def _plan_cache(session: Session) -> dict[tuple[int, date], ResponsePlan | None]:
    """Return the session's plans by (customer id, day), so each is read or drawn once per session.

    None marks a plan that was read in this transaction and found not stored.
    """
    return session.info.setdefault(_PLAN_CACHE, {})


@event.listens_for(OrmSession, "after_rollback")
def _forget_plans(session: OrmSession) -> None:
    """Drop cached plans on rollback: plans drawn in the rolled-back transaction were never stored."""
    session.info.pop(_PLAN_CACHE, None)


@event.listens_for(OrmSession, "after_commit")
def _forget_missing_plans(session: OrmSession) -> None:
    """Drop the not-stored marks at commit, because another session may store those plans from then on."""
    cache = session.info.get(_PLAN_CACHE)
    if cache:
        for key in [key for key, plan in cache.items() if plan is None]:
            del cache[key]


def load_stored_plans(session: Session, customer_ids: Iterable[int], day: date) -> None:
    """Read the stored plans of these customers for `day` into the session's plan cache.

    One query per ID_CHUNK customers. A customer without a stored plan is marked, so plan_for
    then draws its plan without another query.
    """
    cache = _plan_cache(session)
    unread = sorted({customer_id for customer_id in customer_ids if (customer_id, day) not in cache})
    for chunk in id_chunks(unread):
        for customer_id in chunk:
            cache[(customer_id, day)] = None
        query = select(ResponsePlan).where(ResponsePlan.day == day, col(ResponsePlan.customer_id).in_(chunk))
        for plan in session.exec(query).all():
            cache[(plan.customer_id, day)] = plan


def plan_for(session: Session, customer: Customer, event: Event, settings: DRSettings) -> ResponsePlan:
    """Return the customer's plan for the event, drawing and storing it on first use."""
    cache = _plan_cache(session)
    key = (customer.id, event.day)
    if key not in cache:
        cache[key] = session.exec(
            select(ResponsePlan).where(ResponsePlan.customer_id == customer.id, ResponsePlan.day == event.day)
        ).first()
    plan = cache[key]
    if plan is None:
        plan = draw_plan(city_seed(session), customer, event, settings)
        session.add(plan)
        cache[key] = plan
    return plan


def plans_for(session: Session, customers: Sequence[Customer], event: Event, settings: DRSettings) -> dict[int, ResponsePlan]:
    """Return the plans of many customers by customer id: stored ones in one query per
    ID_CHUNK customers, the rest drawn and added to the session. Later plan_for calls in the
    same session reuse them without a query.
    """
    load_stored_plans(session, [c.id for c in customers], event.day)
    return {c.id: plan_for(session, c, event, settings) for c in customers}
