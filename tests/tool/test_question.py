"""The `question` tool with the engine's hook faked: what is asked, how answers are told, bad arguments."""

from __future__ import annotations

import pytest

from opencode.bus import QuestionInfo
from opencode.tool.question import NO_FACE
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolContext, ToolError

COLOR = {
    "question": "Which colour scheme?",
    "header": "A header much longer than thirty characters",
    "options": [{"label": "Dark (Recommended)", "description": "Easier at night"}, {"label": "Light"}],
}


def answering(ctx: ToolContext, answers: list[list[str]]) -> list[list[QuestionInfo]]:
    asked: list[list[QuestionInfo]] = []

    async def ask(questions: list[QuestionInfo]) -> list[list[str]]:
        asked.append(questions)
        return answers

    ctx.ask_question = ask
    return asked


async def test_answers_are_told_to_the_model_in_question_order(ctx: ToolContext) -> None:
    asked = answering(ctx, [["Dark (Recommended)"], [], ["tabs", "my own: 3 spaces"]])
    indent = {"question": "Indentation?", "options": [{"label": "tabs"}, {"label": "spaces"}], "multiple": True}
    params = {"questions": [COLOR, {"question": "Anything else?"}, indent]}
    result = await ToolRegistry.builtin().execute("question", params, ctx)
    (questions,) = asked
    assert [q.question for q in questions] == ["Which colour scheme?", "Anything else?", "Indentation?"]
    assert questions[0].header == "A header much longer than thir"  # capped at 30 characters
    assert [(o.label, o.description) for o in questions[0].options] == [
        ("Dark (Recommended)", "Easier at night"),
        ("Light", ""),
    ]
    assert questions[0].multiple is None and questions[2].multiple is True
    assert result.output == (
        'The user answered: "Which colour scheme?" = "Dark (Recommended)"; "Anything else?" = "(no answer)"; '
        '"Indentation?" = "tabs, my own: 3 spaces". Continue with these answers in mind.'
    )
    assert result.title == "Asked 3 questions"
    assert result.metadata == {"answers": [["Dark (Recommended)"], [], ["tabs", "my own: 3 spaces"]]}


async def test_without_a_face_the_model_decides(ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as caught:
        await ToolRegistry.builtin().execute("question", {"questions": [COLOR]}, ctx)
    assert str(caught.value) == NO_FACE
    assert "decide yourself" in NO_FACE and "what you assumed" in NO_FACE


@pytest.mark.parametrize(
    ("questions", "expected"),
    [
        ([], "questions: list should have at least 1 item"),
        ("Which colour?", "questions: expected an array"),
        ([{"header": "x"}], "questions.0.question: required"),
        ([{"question": "  "}], r"questions\[0\].question is empty"),
        ([{"question": "q", "options": [{"label": "a"}, {"label": "a "}]}], "offers the same label twice"),
        ([{"question": "q", "options": [{"label": ""}]}], "an option without a label"),
        ([{"question": "q", "options": ["yes", "no"]}], "questions.0.options.0: expected an object"),
    ],
)
async def test_bad_questions_are_explained(questions: object, expected: str, ctx: ToolContext) -> None:
    asked = answering(ctx, [])
    with pytest.raises(ToolError, match=expected):
        await ToolRegistry.builtin().execute("question", {"questions": questions}, ctx)
    assert asked == []
