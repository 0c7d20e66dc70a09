"""Which of the assistant's tools a question calls for: arithmetic → calculator, the date → clock.

A small embedded model offered tools in the JSON command format often answers in text
instead of calling them — the 1.5B Qwen wrote "To calculate 1234 * 5678, I used the calculator
tool…" and a made-up product. For such a model the turn forces the named tool on its first
step (`agents.hooks.first_tool_choice`); the model still writes the tool's arguments and the
answer from its result. Models with native tool calling choose for themselves.

The patterns are narrow on purpose: a sum needs an operator between two numbers ("12 * 7",
"15% of 80", "12 곱하기 7", "12乘以7"), so phone numbers and dates ("010-1234-5678",
"2026-12-01") are not arithmetic; the clock needs a question about today's date, the time or
the weekday in one of the three languages.
"""

from __future__ import annotations

import re

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_ARITHMETIC = re.compile(
    rf"{_NUMBER}\s*(?:[+*/×÷^]|\*\*|\s-\s)\s*\(?\s*{_NUMBER}"  # 12 * 7, 3 + 4, 10 - 2 (spaced)
    rf"|{_NUMBER}\s*(?:plus|minus|times|multiplied by|divided by|to the power of)\s*{_NUMBER}"
    rf"|{_NUMBER}\s*(?:%|percent)\s+of\s+{_NUMBER}"
    rf"|(?:square root|sqrt)\s+of\s+{_NUMBER}|{_NUMBER}\s+squared\b"
    rf"|{_NUMBER}\s*(?:더하기|빼기|곱하기|나누기)\s*{_NUMBER}|{_NUMBER}\s*의\s*제곱"
    rf"|{_NUMBER}\s*(?:加上?|减去?|乘以?|除以)\s*{_NUMBER}|{_NUMBER}\s*的平方",
    re.I,
)
_CLOCK = re.compile(
    r"\b(?:what(?:'s| is)?\s+(?:the\s+)?(?:date|time|day(?:\s+of\s+the\s+week)?)(?:\s+(?:is\s+it\s+)?(?:today|now|it\s+is))?"
    r"|today'?s\s+date|what\s+day\s+is\s+(?:it|today)|which\s+day\s+is\s+(?:it|today)|current\s+(?:date|time)"
    r"|what\s+time\s+is\s+it|what\s+year\s+is\s+it|day\s+of\s+the\s+week)\b"
    r"|오늘\s*(?:은|이)?\s*(?:며칠|몇\s*일|몇\s*월\s*며칠|날짜|무슨\s*요일)|지금\s*(?:몇\s*시|시간)|무슨\s*요일|몇\s*시\s*(?:야|예요|에요|인가요|입니까)"
    r"|今天\s*(?:是)?\s*(?:几号|几月几[号日]|星期几|周几|礼拜几|什么日子|日期|哪天)|现在\s*(?:是)?\s*(?:几点|什么时间|时间)|星期几|几点了",
    re.I,
)


def tool_for(text: str) -> str | None:
    """The tool the user's text calls for first ("calculator", "current_time"), or None."""
    if _ARITHMETIC.search(text):
        return "calculator"
    if _CLOCK.search(text):
        return "current_time"
    return None
