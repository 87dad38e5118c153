"""The demo lesson's content and its three-question quiz, scored the way an LMS quiz would be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PASS_MARK = 70  # percent


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    answer: str


LESSON_CONTENT = (
    "A widget turns on its spindle, which sits on a flat base plate. "
    "Oil the spindle once a month: too little and it squeaks, too much and it slips. "
    "Widgets used near machinery are painted safety yellow, so they are easy to see."
)

QUESTIONS: tuple[Question, ...] = (
    Question(
        id="q1",
        text="Which part of a widget turns?",
        options=(("base", "The base plate"), ("spindle", "The spindle"), ("label", "The label")),
        answer="spindle",
    ),
    Question(
        id="q2",
        text="How often should a widget's spindle be oiled?",
        options=(("never", "Never"), ("monthly", "Once a month"), ("hourly", "Every hour")),
        answer="monthly",
    ),
    Question(
        id="q3",
        text="What colour is a widget used near machinery?",
        options=(("blue", "Blue"), ("clear", "Transparent"), ("yellow", "Safety yellow")),
        answer="yellow",
    ),
)


@dataclass(frozen=True)
class Marked:
    score: int  # 0-100
    passed: bool


def unanswered(answers: Mapping[str, str]) -> list[int]:
    """The numbers of the questions left blank."""
    return [n for n, question in enumerate(QUESTIONS, 1) if not answers.get(question.id)]


def mark(answers: Mapping[str, str]) -> Marked:
    right = sum(answers.get(question.id) == question.answer for question in QUESTIONS)
    score = round(100 * right / len(QUESTIONS))
    return Marked(score=score, passed=score >= PASS_MARK)
