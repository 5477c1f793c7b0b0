from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.context import conversation_texts, model_view


def test_model_view_keeps_last_finished_turn_and_new_message():
    history = [
        HumanMessage(content="明天有缺口吗"),
        AIMessage(content="", tool_calls=[{"name": "get_deficit_warning", "args": {"date": "tomorrow"}, "id": "a"}]),
        ToolMessage(content="{}", tool_call_id="a"),
        AIMessage(content="明天14:00-18:00缺口30MW。是否按缺口分解到各区域？"),
        HumanMessage(content="好的"),
    ]

    view = model_view(history)

    assert view == [
        {"role": "user", "content": "明天有缺口吗"},
        {"role": "assistant", "content": "明天14:00-18:00缺口30MW。是否按缺口分解到各区域？"},
        {"role": "user", "content": "好的"},
    ]


def test_model_view_drops_older_turns():
    history = []
    for index in range(3):
        history += [HumanMessage(content=f"问题{index}"), AIMessage(content=f"回答{index}")]
    history.append(HumanMessage(content="新问题"))

    view = model_view(history)

    assert [message["content"] for message in view] == ["问题2", "回答2", "新问题"]


def test_conversation_texts_skip_empty_messages():
    view = [{"role": "user", "content": "城南区"}, {"role": "assistant", "content": ""}]

    assert conversation_texts(view) == ["城南区"]
