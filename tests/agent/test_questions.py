"""The question service on its own: events, replies from a face or a prompt, rejection, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from opencode.agent.questions import Dismissed, NoAnswer, QuestionService
from opencode.bus import Bus, BusEvent, QuestionAsked, QuestionInfo, QuestionOption, ToolRef

QUESTIONS = [
    QuestionInfo(question="Colour?", options=[QuestionOption(label="red"), QuestionOption(label="blue")]),
    QuestionInfo(question="Size?"),
]


def recorded(bus: Bus) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def record(event: BusEvent) -> None:
        if event.type.startswith("question."):
            seen.append(event.wire())

    bus.on(record)
    return seen


async def test_a_face_replies_and_missing_answers_are_empty() -> None:
    bus = Bus()
    seen = recorded(bus)
    service = QuestionService(bus, interactive=True)
    asking = asyncio.create_task(service.ask("ses_1", QUESTIONS, tool=ToolRef(messageID="msg_1", callID="c1")))
    await asyncio.sleep(0)
    (pending,) = service.pending("ses_1")
    assert pending.id.startswith("que_") and service.pending("ses_other") == []
    assert service.reply(pending.id, [["blue"]])
    assert not service.reply(pending.id, [["red"]])  # answered already
    assert await asking == [["blue"], []]
    assert seen == [
        {
            "type": "question.asked",
            "properties": {
                "id": pending.id,
                "sessionID": "ses_1",
                "questions": [
                    {
                        "question": "Colour?",
                        "header": "",
                        "options": [{"label": "red", "description": ""}, {"label": "blue", "description": ""}],
                    },
                    {"question": "Size?", "header": "", "options": []},
                ],
                "tool": {"messageID": "msg_1", "callID": "c1"},
            },
        },
        {
            "type": "question.replied",
            "properties": {"sessionID": "ses_1", "requestID": pending.id, "answers": [["blue"], []]},
        },
    ]


async def test_reject_and_reject_session_dismiss() -> None:
    bus = Bus()
    seen = recorded(bus)
    service = QuestionService(bus, interactive=True)
    first = asyncio.create_task(service.ask("ses_1", QUESTIONS))
    second = asyncio.create_task(service.ask("ses_1", QUESTIONS))
    other = asyncio.create_task(service.ask("ses_2", QUESTIONS))
    await asyncio.sleep(0)
    one, _ = service.pending("ses_1")
    assert service.reject(one.id)
    with pytest.raises(Dismissed):
        await first
    assert service.reject_session("ses_1") == 1
    with pytest.raises(Dismissed):
        await second
    assert [e["type"] for e in seen].count("question.rejected") == 2
    assert not other.done()
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await other
    # Cancelling a waiting ask withdraws its question for the faces.
    assert seen[-1]["type"] == "question.rejected" and seen[-1]["properties"]["sessionID"] == "ses_2"
    assert service.pending() == []


async def test_a_prompt_answers_and_end_of_input_dismisses() -> None:
    bus = Bus()
    answers: list[Any] = [[["red"], ["L"]], None, EOFError()]

    async def prompt(asked: QuestionAsked) -> list[list[str]] | None:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    service = QuestionService(bus, prompt=prompt)
    assert await service.ask("ses_1", QUESTIONS) == [["red"], ["L"]]
    with pytest.raises(Dismissed):
        await service.ask("ses_1", QUESTIONS)
    with pytest.raises(Dismissed):
        await service.ask("ses_1", QUESTIONS)


async def test_nobody_to_ask() -> None:
    bus = Bus()
    seen = recorded(bus)
    service = QuestionService(bus)
    assert not service.answerable
    with pytest.raises(NoAnswer):
        await service.ask("ses_1", QUESTIONS)
    assert seen == []
