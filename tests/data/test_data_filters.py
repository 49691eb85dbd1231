"""JunkFilter, ExactDedup and BoilerplateLineRemover: what they drop, keep and record."""

from __future__ import annotations

import pytest

from lmforge.data.document import Document, DropReason
from lmforge.data.filters import BoilerplateLineRemover, ExactDedup, JunkFilter
from lmforge.data.step import DocumentStep, Step, run_steps

ENGLISH = [
    "Kamori is a town in the Velden region. Its main export is copper.",
    "The Orlen River rises in the northern hills and flows south for about 240 kilometres "
    "before it reaches the sea near the port of Tessa.",
    "Brightwater Abbey was founded in 1132 by a small group of monks. The church was rebuilt "
    "in stone after a fire destroyed most of the original wooden buildings.",
    "The red fox is a small omnivorous mammal found across much of the northern hemisphere. "
    "It adapts well to cities and often feeds on food left by people.",
    "Marta Ilves was an Estonian chemist known for her work on crystal growth.\n"
    "She taught at the university in Tartu for more than thirty years.",
    "Granite is a coarse-grained igneous rock composed mostly of quartz and feldspar. "
    "It is widely used as a building stone because it is hard and durable.",
    "The festival takes place every August and attracts visitors from many countries. "
    "Local bands play on three stages in the old market square.",
    "A lighthouse was built on the island in 1874 to guide ships through the narrow strait. "
    "It has been automated since 1968 and is now a museum.",
    "Rye bread is a staple food in several northern European countries. It is denser and "
    "darker than wheat bread and keeps fresh for longer.",
    "The railway line between Halden and Oskar opened in 1903. Passenger services ended in "
    "1961, but freight trains still use the southern section.",
]

KOREAN = [
    "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다.",
    "오를렌강은 북쪽 산지에서 발원하여 남쪽으로 약 240킬로미터를 흐른 뒤 테사 항구 근처에서 "
    "바다로 흘러든다.",
    "브라이트워터 수도원은 1132년 몇 명의 수도사들이 세웠다. 화재로 목조 건물 대부분이 불탄 뒤 "
    "교회는 돌로 다시 지어졌다.",
    "붉은여우는 북반구 대부분 지역에 사는 잡식성 포유류이다. 도시 환경에도 잘 적응하며 사람들이 "
    "버린 음식을 먹기도 한다.",
    "마르타 일베스는 결정 성장 연구로 알려진 에스토니아의 화학자이다.\n"
    "그녀는 타르투의 대학교에서 30년 넘게 학생들을 가르쳤다.",
    "화강암은 주로 석영과 장석으로 이루어진 입자가 굵은 화성암이다. 단단하고 오래가기 때문에 "
    "건축용 석재로 널리 쓰인다.",
    "이 축제는 매년 8월에 열리며 여러 나라에서 관광객이 찾아온다. 옛 시장 광장의 세 무대에서 "
    "지역 밴드들이 공연한다.",
    "1874년 좁은 해협을 지나는 배들을 안내하기 위해 섬에 등대가 세워졌다. 1968년부터 자동으로 "
    "운영되었고 지금은 박물관으로 쓰인다.",
    "호밀빵은 북유럽 여러 나라의 주식이다. 밀가루 빵보다 더 조밀하고 색이 진하며 더 오래 "
    "신선하게 보관된다.",
    "할덴과 오스카르를 잇는 철도는 1903년에 개통되었다. 여객 운행은 1961년에 끝났지만 남쪽 "
    "구간은 지금도 화물 열차가 이용한다.",
]


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(id=doc_id, text=text, meta={})


def run(step: Step, docs: list[Document]) -> list[Document]:
    return list(step.run(docs))


@pytest.mark.parametrize("text", ENGLISH + KOREAN)
def test_junk_filter_keeps_natural_english_and_korean_paragraphs(text):
    [out] = run(JunkFilter(), [doc(text)])
    assert out.drop is None, out.drop


@pytest.mark.parametrize(
    ("text", "rule", "value", "threshold"),
    [
        # character soup: 2 letters out of 24 non-space characters
        ("#$%& 1234 @!?* 5678 ab=+ -_;:", "low_letter_ratio", 2 / 24, 0.6),
        ("qzx vbnm plkj hgfd wert yuio asdf zxcv lkjh mnbv", "low_function_word_ratio", 0, 0.1),
        # Hangul soup: all letters, but no eojeol ends in a particle or ending
        (
            "꼄닽걑 뎔꿎댶 늁뎙낑 댡꿳긵 겾뉄돀 뀫놇낷 괦곆댏 녜끢껅 깹넅궙 꾼닉긊",
            "low_function_word_ratio",
            0,
            0.1,
        ),
        ("buy cheap " * 10, "top_word_repetition", 0.5, 0.3),
        # a few spam phrases mixed, none dominant: 10 distinct words out of 50
        (
            "buy cheap best price click here free shipping limited offer " * 5,
            "low_word_variety",
            0.2,
            0.3,
        ),
        ("최저가 지금 구매 무료 배송 한정 특가 클릭하세요 " * 6, "low_word_variety", 8 / 48, 0.3),
        ("대출 최저금리 " * 8, "top_word_repetition", 0.5, 0.3),
        ("Click here to claim your free prize now.\n" * 8, "duplicate_lines", 7 / 8, 0.3),
        ("Read more", "too_short", 9, 20),
        ("Supercalifragilistic expialidocious extraordinarily", "too_few_words", 3, 5),
        ("서울특별시는대한민국의수도이며최대도시이다.", "too_few_words", 1, 5),
        (
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
            "lorem_ipsum",
            1,
            1,
        ),
    ],
)
def test_junk_filter_drops_each_kind_with_rule_value_and_threshold(text, rule, value, threshold):
    [out] = run(JunkFilter(), [doc(text)])
    assert out.drop is not None
    assert (out.drop.step, out.drop.rule) == ("junk", rule)
    assert out.drop.value == pytest.approx(value, abs=1e-4)
    assert out.drop.threshold == threshold


@pytest.mark.parametrize("paragraphs", [ENGLISH, KOREAN])
def test_junk_filter_keeps_long_documents(paragraphs):
    [out] = run(JunkFilter(), [doc("\n\n".join(paragraphs))])
    assert out.drop is None, out.drop


def test_junk_filter_thresholds_are_parameters():
    assert run(JunkFilter(), [doc("Read more now")])[0].drop is not None
    assert run(JunkFilter(min_chars=5, min_words=2), [doc("Read more now")])[0].drop is None
    spam = "buy cheap " * 10
    lenient = JunkFilter(max_top_word_fraction=0.6)
    assert run(lenient, [doc(spam)])[0].drop.rule == "low_word_variety"


def test_exact_dedup_ignores_case_width_and_whitespace_and_keeps_the_first():
    docs = [
        doc("Kamori is a town.  Its export is copper.", "a"),
        doc("kamori IS a town.\nits export is\tcopper.  ", "b"),
        doc("Ｋａｍｏｒｉ is a town. Its export is copper.", "c"),  # full-width letters (NFKC)
        doc("Kamori is a village. Its export is copper.", "d"),
    ]
    out = run(ExactDedup(), docs)
    assert [d.id for d in out] == ["a", "b", "c", "d"]
    assert out[0].drop is None and out[3].drop is None
    for dup in out[1:3]:
        assert dup.drop == DropReason("exact_dedup", "exact_duplicate", "a", None)


def test_exact_dedup_state_is_per_run():
    step = ExactDedup()
    assert run(step, [doc("same text here", "a")])[0].drop is None
    assert run(step, [doc("same text here", "b")])[0].drop is None


PAGE_EN = (
    "Home | About | Contact | Blog\n"
    "Kamori is a town in the Velden region. Its main export is copper.\n"
    "We use cookies to improve your experience. Accept all\n"
    "© 2024 Velden Times. All rights reserved."
)
PAGE_KO = (
    "홈 | 소개 | 문의\n"
    "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다.\n"
    "이 사이트는 쿠키를 사용합니다. 동의하시겠습니까?\n"
    "저작권자 ⓒ 벨덴일보, 무단 전재 및 재배포 금지"
)


@pytest.mark.parametrize(("page", "body"), [(PAGE_EN, ENGLISH[0]), (PAGE_KO, KOREAN[0])])
def test_boilerplate_lines_are_removed_from_a_good_document(page, body):
    [out] = run(BoilerplateLineRemover(), [doc(page)])
    assert out.drop is None
    assert out.text == body
    assert out.meta["boilerplate_lines_removed"] == 3


def test_boilerplate_only_page_is_dropped_and_keeps_its_text():
    page = "Home | About | Contact\n쿠키를 사용합니다.\n\n© 2024 All rights reserved"
    [out] = run(BoilerplateLineRemover(), [doc(page)])
    assert out.drop == DropReason("boilerplate", "only_boilerplate", 3, None)
    assert out.text == page


@pytest.mark.parametrize(
    "line",
    [
        "경제·사회·문화 분야의 교류가 늘었다.",  # tight "·" is Korean prose, not a menu
        "| Name | Population | Area |",  # a Markdown table row
        "In this recipe we crush chocolate cookies and press them into the tin.",
        "이 레시피에서는 초콜릿 쿠키를 사용합니다.",
        "Home is where the heart is, as the saying goes.",
        "For these numbers 9 > 5 > 2 holds.",
        "The cookie policy debate lasted for years. " * 6,  # long lines are always content
    ],
)
def test_content_lines_are_not_boilerplate(line):
    [out] = run(BoilerplateLineRemover(), [doc(line)])
    assert out.drop is None
    assert out.text == line
    assert out.meta["boilerplate_lines_removed"] == 0


def test_steps_pass_every_document_through_and_leave_dropped_ones_alone():
    earlier = DropReason("other", "some_rule", 1.0, 2.0)
    pre = Document("x", "Home | About | Contact", {}, drop=earlier)
    steps: list[Step] = [BoilerplateLineRemover(), JunkFilter(), ExactDedup()]
    docs = [pre, doc(ENGLISH[0], "a"), doc(ENGLISH[0], "b"), doc("short", "c")]
    out = list(run_steps(docs, steps))
    assert [d.id for d in out] == ["x", "a", "b", "c"]
    assert out[0].drop is earlier and out[0].text == "Home | About | Contact"
    assert out[0].meta == {}
    assert [d.drop.rule if d.drop else None for d in out[1:]] == [
        None,
        "exact_duplicate",
        "too_short",
    ]
    assert all(isinstance(s, Step) for s in steps)
    assert isinstance(JunkFilter(), DocumentStep)


@pytest.mark.parametrize(
    "line",
    [
        "Home | About | Contact",
        "Privacy Policy · Terms of Use · Sitemap",
        "Skip to main content",
        "This website uses cookies. By continuing you consent to our use of cookies.",
        "Copyright 2023 Example Media",
        "Share on Facebook",
        "Subscribe to our newsletter",
        "홈 · 회사소개 · 고객센터 · 오시는 길",
        "본문 바로가기",
        "더 나은 서비스 제공을 위해 쿠키를 사용합니다.",
        "ⓒ 2024 벨덴일보",
        "무단전재 및 재배포 금지",
        "뉴스레터를 구독하세요",
        "Home > Towns > Article",
        "Privacy Policy | Terms of Use",
        "This page was last edited on 5 May 2024.",
        "홈 > 도시 > 문서",
        "개인정보처리방침 | 이용약관",
        "페이스북에 공유 | 카카오톡에 공유",
        "마지막 수정: 3일 전",
    ],
)
def test_typical_boilerplate_lines_are_removed(line):
    [out] = run(BoilerplateLineRemover(), [doc(f"{ENGLISH[0]}\n{line}")])
    assert out.text == ENGLISH[0]
    assert out.meta["boilerplate_lines_removed"] == 1
