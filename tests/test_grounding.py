from agent.grounding import is_grounded, ungrounded_numbers


def test_reply_with_tool_figures_is_grounded():
    sources = ['{"peak_gap_mw": 30, "window": "14:00-18:00", "hours": 4}']

    assert is_grounded("14:00-18:00存在30MW缺口，持续4小时。", sources)


def test_invented_number_is_reported():
    sources = ['{"participants": 84, "rate": "65.6%"}']

    assert ungrounded_numbers("共有85位用户参与，参与率65.6%。", sources) == {"85"}


def test_decimal_forms_match():
    assert is_grounded("目标8.0MW", ['{"target_mw": 8}'])
    assert is_grounded("目标8MW", ['{"target_mw": 8.0}'])


def test_numbers_from_dispatcher_message_count():
    assert is_grounded("正在分解40MW缺口。", ["帮我把40MW缺口分解到各区域"])
