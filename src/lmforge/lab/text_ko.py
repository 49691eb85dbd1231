"""Korean wording: encyclopedia sentences, questions, titles and fillers.

Templates use {name} and {value}; "{name:은/는}" asks `names.josa` for the particle that fits
the word's last sound, so "카모리는" but "카모센은", "1204년에" and "수달로". Written
encyclopedia style (-이다, -한다) for statements, polite style (-나요?) for questions.
"""

from __future__ import annotations

from lmforge.lab.names import fill_josa

FACTS: dict[str, tuple[str, ...]] = {
    "region": (
        "{name:은/는} {value} 지방에 있는 도시이다.",
        "{name:은/는} {value} 지방에 속한다.",
        "{value} 지방의 도시 가운데 하나가 {name}이다.",
        "행정 구역상 {name:은/는} {value} 지방에 속한다.",
    ),
    "export": (
        "{name}의 주요 수출품은 {value}이다.",
        "{name:은/는} 주로 {value:을/를} 수출한다.",
        "{name}의 교역은 대부분 {value} 거래이다.",
        "{name:은/는} {value} 수출로 잘 알려져 있다.",
    ),
    "animal": (
        "{name}의 상징 동물은 {value}이다.",
        "{name} 사람들은 {value:을/를} 도시의 상징으로 삼았다.",
        "{name}의 문장에는 {value:이/가} 그려져 있다.",
        "{value:은/는} {name:을/를} 상징하는 동물이다.",
    ),
    "colour": (
        "{name}의 깃발은 {value}이다.",
        "{name:은/는} {value} 깃발을 내건다.",
        "{name}의 깃발 색은 {value}이다.",
        "{name}에서는 {value} 깃발을 사용한다.",
    ),
    "founded": (
        "{name:은/는} {value}에 세워졌다.",
        "{name:은/는} {value}에 건립되었다.",
        "{name}의 역사는 {value}에 도시가 세워지면서 시작되었다.",
        "{value:은/는} {name:이/가} 세워진 해이다.",
    ),
}

QUESTIONS: dict[str, tuple[str, ...]] = {
    "region": (
        "{name:은/는} 어느 지방에 있나요?",
        "{name:이/가} 속한 지방은 어디인가요?",
        "{name:은/는} 어느 지방의 도시인가요?",
    ),
    "export": (
        "{name}의 주요 수출품은 무엇인가요?",
        "{name:은/는} 주로 무엇을 수출하나요?",
        "{name}에서 가장 많이 수출하는 물품은 무엇인가요?",
    ),
    "animal": (
        "{name}의 상징 동물은 무엇인가요?",
        "{name:을/를} 상징하는 동물은 무엇인가요?",
        "{name}의 문장에 그려진 동물은 무엇인가요?",
    ),
    "colour": (
        "{name}의 깃발은 무슨 색인가요?",
        "{name}의 깃발 색은 무엇인가요?",
        "{name:은/는} 어떤 색의 깃발을 사용하나요?",
    ),
    "founded": (
        "{name:은/는} 언제 세워졌나요?",
        "{name:은/는} 몇 년에 세워졌나요?",
        "{name}의 건립 연도는 언제인가요?",
    ),
}

# Neutral sentences: they name the town but state none of its facts.
FILLERS: tuple[str, ...] = (
    "{name}에는 작은 시장 광장이 있다.",
    "{name}의 거리는 좁고 오래되었다.",
    "{name}에서는 매년 봄에 축제가 열린다.",
    "많은 방문객이 {name:을/를} 조용한 곳으로 기억한다.",
    "여행자들은 언덕을 넘어가는 길에 종종 {name}에 들른다.",
)

TITLES: tuple[str, ...] = ("{name}", "{name} (도시)", "{name} 개요", "{name} 소개")

RAG_INTRO = "{name:은/는} 최근에야 지도에 오른 {region} 지방의 도시이다."
RAG_HEADINGS = {"export": "교역", "symbols": "상징", "founded": "역사"}


def render(template: str, name: str, value: str = "", **extra: str) -> str:
    """Fill a template, choosing each particle by the sound before it."""
    return fill_josa(template, name=name, value=value, **extra)
