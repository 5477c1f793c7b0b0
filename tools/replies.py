"""Counting replies to the invitations."""

from __future__ import annotations

from sqlmodel import Session

from sim_grid import read_clock
from tools.context import ToolContext
from tools.contract import CountRepliesArgs
from tools.errors import ToolError
from tools.invitations import decisive_replies, invited_query
from sim_grid.models import Customer, District
from tools.lookup import all_districts, day_of, district_allocation, event_of_day, optional_district
from tools.text import clock_label, day_label, number, percent


def _invited_districts(session: Session, district_ids: list[int]) -> list[District]:
    return [session.get(District, district_id) for district_id in sorted(set(district_ids))]


def count_replies(args: CountRepliesArgs, ctx: ToolContext) -> dict:
    """Count yes, no and opt-out replies received so far and compare the expected MW with the target."""
    with ctx.session() as session:
        district = optional_district(session, args.district)
        day = day_of(session, args.date)
        event = event_of_day(session, day)
        now = read_clock(session)
        # Plain columns rather than Customer objects, because a province has tens of thousands of invitees.
        invited = session.exec(
            invited_query(event, district, Customer.id, Customer.district_id, Customer.declared_kw)
        ).all()
        scope = district.name if district else "全市"
        if not invited:
            raise ToolError(f"{scope}还没有发送{day_label(day)}的邀约短信，请先发送需求响应通知。")

        # Without a named district the count covers the districts invited so far, and the
        # comparison uses their targets: the whole event's target would understate progress
        # while some districts have not been invited yet.
        districts = [district] if district is not None else _invited_districts(session, [row.district_id for row in invited])
        if district is None and len(districts) == 1:
            scope = districts[0].name
        elif district is None and len(districts) < len(all_districts(session)):
            scope = "已邀约的" + "、".join(d.name for d in districts)
        allocations = [district_allocation(session, event, d) for d in districts]
        if all(allocation is not None for allocation in allocations):
            target_mw = round(sum(allocation.target_mw for allocation in allocations), 3)
        else:
            target_mw = event.target_mw if district is None else None
        replies = decisive_replies(session, event, now)

    answers = [replies.get(row.id) for row in invited]
    yes = [row for row, answer in zip(invited, answers) if answer == "yes"]
    no_count = answers.count("no")
    optout_count = answers.count("optout")
    silent_count = len(invited) - len(yes) - no_count - optout_count
    expected_mw = sum(row.declared_kw for row in yes) / 1000
    rate = len(yes) / len(invited)

    summary = (
        f"截至{clock_label(now)}，{scope}共有{len(yes)}户回复参与{day_label(day)}需求响应，"
        f"参与率{percent(rate)}，预计响应负荷{number(expected_mw, 2)}MW"
    )
    below_target = target_mw is not None and expected_mw < target_mw
    if target_mw is None:
        summary += "。"
    elif below_target:
        summary += f"，未达到目标{number(target_mw)}MW"
    else:
        summary += f"，已达到目标{number(target_mw)}MW"
    if target_mw is not None:
        summary += f"；{no_count}户不参与，{silent_count}户未回复。"
    if below_target and silent_count:
        summary += "是否向未回复的用户发送追加通知？"
    else:
        summary += "是否查看短信发送状态？"

    return {
        "ok": True,
        "summary": summary,
        "date": day.isoformat(),
        "district": district.name if district else None,
        "districts": [d.name for d in districts],
        "as_of": now.isoformat(timespec="minutes"),
        "invited": len(invited),
        "yes": len(yes),
        "no": no_count,
        "opted_out": optout_count,
        "not_replied": silent_count,
        "participation_rate": round(rate, 4),
        "expected_mw": round(expected_mw, 3),
        "target_mw": target_mw,
        "below_target": below_target,
    }
