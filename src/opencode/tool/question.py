"""The `question` tool: ask the user one or more multiple-choice questions and wait for the answers.

The engine provides `ToolContext.ask_question` (`opencode.agent.questions`): it publishes
`question.asked` for the faces (or prompts at the terminal in `opencode run`) and waits. Where
nobody can answer (no face, no terminal, a subagent) the tool fails with a message telling the
model to decide for itself and say what it assumed. The user may always type an answer of their
own instead of picking an option.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from opencode.bus import QuestionInfo, QuestionOption
from opencode.tool.tool import Tool, ToolContext, ToolError, ToolResult

NO_FACE = (
    "Nobody can answer questions in this session (it runs without an interactive user). Do not ask again: "
    "decide yourself, choosing the option that is safest and most likely what the user wants, carry on, "
    "and state in your final answer what you assumed."
)


class OptionParam(BaseModel):
    label: str = Field(description="The choice, 1-5 words")
    description: str = Field(default="", description="What choosing it means")


class QuestionParam(BaseModel):
    question: str = Field(description="The complete question")
    header: str = Field(default="", description="A very short label for it (at most 30 characters)")
    options: list[OptionParam] = Field(default_factory=list, description="The choices to offer")
    multiple: bool = Field(default=False, description="Allow choosing more than one option")


class QuestionParams(BaseModel):
    questions: list[QuestionParam] = Field(min_length=1, max_length=8, description="The questions to ask")


def to_info(question: QuestionParam) -> QuestionInfo:
    return QuestionInfo(
        question=question.question.strip(),
        header=question.header.strip()[:30],
        options=[QuestionOption(label=o.label.strip(), description=o.description.strip()) for o in question.options],
        multiple=question.multiple or None,
    )


def format_answers(questions: list[QuestionParam], answers: list[list[str]]) -> str:
    pairs = []
    for question, answer in zip(questions, answers, strict=False):
        said = ", ".join(a for a in answer if a.strip()) or "(no answer)"
        pairs.append(f'"{question.question.strip()}" = "{said}"')
    return "The user answered: " + "; ".join(pairs) + ". Continue with these answers in mind."


class QuestionTool(Tool[QuestionParams]):
    name = "question"
    params = QuestionParams
    description_file = "question.txt"

    async def run(self, params: QuestionParams, ctx: ToolContext) -> ToolResult:
        if ctx.ask_question is None:
            raise ToolError(NO_FACE)
        for number, question in enumerate(params.questions):
            if not question.question.strip():
                raise ToolError(f"questions[{number}].question is empty; write the full question.")
            labels = [o.label.strip() for o in question.options]
            if any(not label for label in labels):
                raise ToolError(f"questions[{number}] has an option without a label; give every option a label.")
            if len(set(labels)) != len(labels):
                raise ToolError(f"questions[{number}] offers the same label twice; make each option distinct.")
        answers = await ctx.ask_question([to_info(q) for q in params.questions])
        count = len(params.questions)
        return ToolResult(
            output=format_answers(params.questions, answers),
            title=f"Asked {count} question{'' if count == 1 else 's'}",
            metadata={"answers": answers},
        )
