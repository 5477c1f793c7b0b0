import datetime as dt
from typing import get_args

from agent.candidates import CANNED_REPLIES, build_candidates, enumerate_calls, find_mentions
from agent.grounding import numbers_in
from tools.contract import DecomposeMethod

DISTRICTS = ["城南区", "城北区", "城东区", "城西区"]
TODAY = dt.date(2026, 6, 23)


def test_short_district_name_resolves_to_full_name():
    mentions = find_mentions(["给城南签约用户发通知"], DISTRICTS, TODAY)

    assert mentions.districts == ["城南区"]


def test_unknown_district_span_is_kept_as_written():
    mentions = find_mentions(["给城中区签约用户发通知"], DISTRICTS, TODAY)

    assert mentions.districts == ["城中区"]


def test_words_like_region_are_not_districts():
    mentions = find_mentions(["把缺口分解到各区域", "全区情况"], DISTRICTS, TODAY)

    assert mentions.districts == []


def test_known_four_character_district_is_not_split():
    mentions = find_mentions(["给工业园区未回复的用户发提醒"], ["工业园区", "城南区"], TODAY)

    assert mentions.districts == ["工业园区"]


def test_gap_needs_a_unit_and_user_id_six_digits():
    mentions = find_mentions(["把40MW缺口分解，另外12.5兆瓦，用户603954和1234567，共3户"], DISTRICTS, TODAY)

    assert mentions.gaps_mw == [40, 12.5]
    assert mentions.user_ids == ["603954"]


def test_month_day_resolves_to_nearest_year():
    mentions = find_mentions(["12月25日的报告"], DISTRICTS, dt.date(2027, 1, 5))

    assert mentions.iso_dates == ["2026-12-25"]


def test_invalid_calendar_dates_are_dropped():
    mentions = find_mentions(["2月30日的报告", "2026-13-01"], DISTRICTS, TODAY)

    assert mentions.iso_dates == []


def test_required_district_without_mention_excludes_tool():
    mentions = find_mentions(["发送需求响应通知"], DISTRICTS, TODAY)

    assert enumerate_calls("send_dr_notification", mentions) == []
    assert enumerate_calls("count_replies", mentions) != []


def test_candidates_hold_every_argument_combination():
    mentions = find_mentions(["城南和城北的40MW"], DISTRICTS, TODAY)

    calls = enumerate_calls("decompose_deficit", mentions)
    # gap 1 x every method x date 3 x level 2 x district (None + 2)
    assert len(calls) == 1 * len(get_args(DecomposeMethod)) * 3 * 2 * 3
    assert len({text for _, text in calls}) == len(calls)


def test_candidate_set_includes_every_fixed_reply():
    candidates = build_candidates(find_mentions(["你好"], DISTRICTS, TODAY))

    kinds = {candidate.reply_kind for candidate in candidates if candidate.tool is None}
    assert kinds == set(CANNED_REPLIES)


def test_fixed_replies_contain_no_digits():
    for text in CANNED_REPLIES.values():
        assert numbers_in(text) == set(), text


def test_negative_gap_keeps_its_sign():
    mentions = find_mentions(["把-5MW缺口分解到各区域"], DISTRICTS, TODAY)

    assert mentions.gaps_mw == [-5]



def test_no_request_for_a_district_already_named():
    current = find_mentions(["给城北区签约用户发需求响应通知"], DISTRICTS, TODAY)

    kinds = {candidate.reply_kind for candidate in build_candidates(current, current=current) if candidate.tool is None}
    assert "ask_district" not in kinds
    assert "ask_user_id" in kinds
