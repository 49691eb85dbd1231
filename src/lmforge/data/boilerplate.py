"""What counts as a boilerplate line: a documented pattern list plus a navigation-bar rule.

Used by `lmforge.data.filters.BoilerplateLineRemover`; extend `BOILERPLATE_PATTERNS` (or pass
your own `patterns=`) to catch more. Each pattern is `(name, regex)`, searched case-insensitively
in a stripped line no longer than the remover's `max_line_chars`, so a real paragraph that
merely mentions cookies or copyright is never removed.

Hand-written: boilerplate removers in libraries (jusText, trafilatura) work on HTML, while our
input is already plain text, where only line-level patterns are left to go on.
"""

from __future__ import annotations

import re

# (name, regex): English first, then the Korean equivalents.
BOILERPLATE_PATTERNS: tuple[tuple[str, str], ...] = (
    # "We use cookies to improve your experience. Accept all"
    ("cookie_banner", r"\b(we|this (web)?site|our (web)?site) uses? cookies\b"),
    ("cookie_banner", r"\bcookies?\b.*\b(accept|consent|opt[- ]out|preferences)\b"),
    # "© 2024 Example Inc. All rights reserved", "Copyright 2024 ..."
    ("copyright", r"^(©|ⓒ|\(c\)|copyright\b)|\ball rights reserved\b|[©ⓒ]\s*\d{4}"),
    ("skip_link", r"^(skip to (main )?content|back to top|jump to navigation)\b"),
    ("share_buttons", r"^share (this|on)\b|^(tweet|pin it|print this page)$"),
    ("newsletter", r"^(subscribe|sign up)\b.*\bnewsletter\b"),
    # "Privacy Policy | Terms of Use" (two items: too few for the navigation rule)
    ("legal_links", r"^(privacy policy|terms (of (use|service)|and conditions)|cookie policy)\b"),
    # "This page was last edited on 5 May 2024." (a wiki footer)
    ("last_edited", r"^(this page was )?last (edited|updated|modified)\b"),
    # "이 사이트는 쿠키를 사용합니다" (but not "초콜릿 쿠키를 사용합니다" in a recipe)
    (
        "cookie_banner_ko",
        r"^쿠키를 사용합니다|(사이트|홈페이지|서비스).*쿠키|쿠키.*(동의|허용|수락)",
    ),
    # "무단 전재 및 재배포 금지", "저작권자 ⓒ 한국일보", "Copyright ⓒ 연합뉴스"
    (
        "copyright_ko",
        r"무단\s*전재.{0,10}재배포\s*금지|저작권자\s*[©ⓒ(]|판권\s*소유|모든\s*권리\s*보유",
    ),
    ("skip_link_ko", r"^(본문\s*바로\s*가기|맨\s*위로|주요\s*메뉴\s*바로\s*가기)"),
    # "페이스북에 공유 | 카카오톡에 공유", "공유하기"
    (
        "share_buttons_ko",
        r"^(공유하기|기사\s*공유)|^(페이스북|카카오톡|트위터|밴드)(에|으로|로)?\s*공유",
    ),
    ("newsletter_ko", r"뉴스레터.*(구독|신청)"),
    ("legal_links_ko", r"^(개인정보\s*처리\s*방침|이용\s*약관|개인정보\s*보호\s*정책)"),
    # "마지막 수정: 3일 전", "이 문서는 2023년에 마지막으로 수정되었다."
    ("last_edited_ko", r"^마지막\s*(수정|편집)|마지막으로\s*(수정|편집)되었"),
)

# Items of a navigation bar or breadcrumb trail: "|" with or without spaces; "·", "•", ">",
# "›", "»" only with spaces around them, because Korean prose writes "경제·사회·문화" with a
# tight "·" as a list separator.
_NAV_SEPARATOR = re.compile(r"\s*\|\s*|\s+[·•>›»]\s+")
_SENTENCE_END = re.compile(r"[.?!。]$")


class BoilerplateMatcher:
    """Decides whether one line is boilerplate (compiled once per remover, not at import)."""

    def __init__(
        self,
        patterns: tuple[tuple[str, str], ...],
        max_line_chars: int,
        min_nav_items: int,
        max_nav_item_chars: int,
    ) -> None:
        self.patterns = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in patterns]
        self.max_line_chars = max_line_chars
        self.min_nav_items = min_nav_items
        self.max_nav_item_chars = max_nav_item_chars

    def is_boilerplate(self, line: str) -> bool:
        return self.match(line) is not None

    def match(self, line: str) -> str | None:
        """The name of the rule that makes `line` boilerplate, or None."""
        line = line.strip()
        if not line or len(line) > self.max_line_chars:
            return None
        if self._is_navigation(line):
            return "navigation"
        return next((name for name, rx in self.patterns if rx.search(line)), None)

    def _is_navigation(self, line: str) -> bool:
        # "| a | b | c |" is a Markdown table row: content, not navigation.
        if line.startswith("|") and line.endswith("|"):
            return False
        items = [item for item in _NAV_SEPARATOR.split(line) if item]
        return len(items) >= self.min_nav_items and all(
            len(item) <= self.max_nav_item_chars and not _SENTENCE_END.search(item)
            for item in items
        )
