"""Prompt injection in Korean, English and Chinese: weighted patterns, scored, not one regex.

Each pattern says one thing an attack does — tells the model to drop its instructions, asks for
the system prompt, opens a role with a chat-template tag, gives the model a new persona, orders
a tool call or a request to another host — and carries a weight; a text scores the sum of the
weights of the patterns it matches, and is an injection at `threshold` (1.0). Dropping the
instructions needs an instruction word as its object, so a kiosk customer's "이전 주문은 무시하고
새로 주문할게요" (ignore my last order) scores nothing. Text from documents and tools has a few
more patterns: addressing the AI, ordering a tool call, sending data to a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THRESHOLD = 1.0

_EN_NOUN = r"(?:instructions?|prompts?|rules|directions|guidelines|guardrails|polic(?:y|ies)|restrictions|programming|directives?|constraints)"
_KO_NOUN = r"(?:지시|지침|명령|규칙|설정|프롬프트|제약|가이드라인|시스템\s?메시지|룰)"
_ZH_NOUN = r"(?:指令|指示|规则|提示|设定|约束|命令|限制|系统消息)"


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    weight: float
    regex: re.Pattern[str]
    sources: tuple[str, ...] = ("input", "tool", "output")


def _p(name: str, weight: float, regex: str, *, sources: tuple[str, ...] = ("input", "tool", "output"), flags: int = re.I) -> Pattern:
    return Pattern(name, weight, re.compile(regex, flags), sources)


PATTERNS: tuple[Pattern, ...] = (
    # Drop the instructions.
    _p("override", 1.0, rf"\b(?:ignore|disregard|forget|override|bypass|skip|discard|abandon)\b(?:\W+\w+){{0,4}}?\W+{_EN_NOUN}\b"),
    _p("override", 1.0, r"\bforget\s+(?:everything|all)\b(?:\W+\w+){0,4}?\W+(?:told|said|above|before|earlier)\b"),
    _p("override", 1.0, rf"{_KO_NOUN}[^.!?\n]{{0,14}}?(?:무시|잊어|잊고|잊으|잊은|무효|어겨|따르지\s?마)"),
    _p("override", 1.0, rf"(?:忽略|无视|忽视|忘记|忘掉|不要理会|不要遵守|跳过|抛开)[^。！？\n]{{0,10}}?{_ZH_NOUN}"),
    # Ask for the system prompt.
    _p("prompt_leak", 1.0, r"\b(?:reveal|show|print|display|output|repeat|tell\s+me|give\s+me|leak|dump|write\s+out)\b(?:\W+\w+){0,4}?\W+"
                           r"(?:system\s+prompt|(?:initial|original|hidden|secret|system|first)\s+(?:instructions|prompt|message)|your\s+(?:instructions|prompt))"),
    _p("prompt_leak", 1.0, r"(?:시스템\s?프롬프트|초기\s?(?:지시|프롬프트)|숨겨진\s?(?:지시|프롬프트)|너의\s?(?:지시|프롬프트))[^.!?\n]{0,20}?(?:보여|알려|출력|말해|공개|적어)"),
    _p("prompt_leak", 1.0, r"(?:系统提示|提示词|系统指令|初始指令|隐藏指令)[^。！？\n]{0,12}?(?:显示|告诉|输出|打印|泄露|给我|发给)|(?:显示|告诉|输出|打印|泄露)[^。！？\n]{0,8}?(?:系统提示|提示词|系统指令|初始指令)"),
    # Chat-template role tags.
    _p("role_tag", 1.0, r"</?\s*(?:system|assistant|developer|instructions?|sys)\s*>|<\|(?:im_start|im_end|system|endoftext|start_header_id)\|>|\[/?(?:INST|SYS)\]|<<SYS>>|^\s*#{2,}\s*(?:system|instructions?)\b"),
    # A new persona or mode.
    _p("persona", 0.5, r"\byou\s+are\s+now\b|\bfrom\s+now\s+on,?\s+you\b|\bpretend\s+(?:to\s+be|you\s+are)\b"),
    _p("persona", 0.5, r"너는\s*이제|넌\s*이제|(?:지금|이제)부터\s*(?:너는|넌|니가)"),
    _p("persona", 0.5, r"你现在是|从现在(?:开始|起)[，,]?\s*你"),
    _p("mode", 0.8, r"\b(?:developer|god|admin|debug|jailbreak|unrestricted)\s+mode\b|\bjailbr(?:eak|oken)\b"),
    _p("mode", 0.8, r"\bDAN\b", flags=0),
    _p("mode", 0.8, r"(?:관리자|개발자|디버그|탈옥|무제한)\s*모드|탈옥"),
    _p("mode", 0.8, r"(?:开发者|管理员|越狱|调试|无限制)模式|越狱"),
    _p("unbound", 0.5, r"\b(?:no|without)\s+(?:any\s+)?(?:restrictions|rules|limits|filters?|censorship)\b|\bunfiltered\b|\buncensored\b"),
    _p("unbound", 0.5, r"제한\s*(?:이|이란)?\s*없는|규칙\s*(?:이)?\s*없는|검열\s*없는"),
    _p("unbound", 0.5, r"不受(?:任何)?(?:规则|限制|约束)|没有(?:任何)?(?:限制|规则|约束)"),
    _p("new_rules", 0.5, r"\bnew\s+(?:instructions|rules|policy)\b|새로운\s*(?:지시|규칙|명령)|新(?:的)?(?:指令|规则)"),
    _p("pwned", 0.5, r"\b(?:i\s+have\s+been\s+)?pwned\b"),
    # Text from documents and tools speaking to the model.
    _p("addresses_ai", 0.5, r"\b(?:note\s+to\s+the\s+(?:ai|assistant|model)|(?:ai|llm)\s+assistant|dear\s+(?:ai|assistant)|attention\s+(?:ai|assistant))\b"
                            r"|(?:읽는|보는)\s*(?:AI|인공지능|챗봇)|AI\s*(?:는|에게)|AI助手|人工智能助手|致AI", sources=("tool",)),
    _p("tool_order", 0.5, r"\b(?:call|invoke|use|run|execute)\s+(?:the\s+)?[\w-]+\s+tool\b|\bcancel_order\b|\bcancel\s+(?:all|every)\b(?:\W+\w+){0,3}?\W+orders?\b"
                          r"|모든\s*주문을?\s*취소|取消[^。]{0,6}(?:所有|全部)订单|\bwithout\s+(?:asking|confirmation)\b", sources=("tool",)),
    _p("exfiltrate", 0.8, r"\b(?:send|post|forward|upload|transmit)\b[^.\n]{0,60}https?://|https?://\S+\s*(?:으로|로)\s*(?:보내|전송)|(?:发送|上传|转发)[^。\n]{0,20}https?://"),
)


@dataclass(frozen=True, slots=True)
class InjectionScore:
    score: float
    patterns: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def over(self, threshold: float = THRESHOLD) -> bool:
        """Whether the text counts as an injection."""
        return self.score >= threshold


def score_injection(text: str, source: str = "input") -> InjectionScore:
    """Score `text`: the sum of the weights of the distinct patterns it matches (capped per name)."""
    by_name: dict[str, float] = {}
    spans: list[tuple[int, int]] = []
    for p in PATTERNS:
        if source not in p.sources:
            continue
        m = p.regex.search(text)
        if m is None:
            continue
        by_name[p.name] = max(by_name.get(p.name, 0.0), p.weight)
        spans.append((m.start(), m.end()))
    names = tuple(sorted(by_name))
    return InjectionScore(round(sum(by_name.values()), 2), names, tuple(sorted(spans)))


_SENTENCE = re.compile(r"[^.!?。！？\n]*(?:[.!?。！？\n]|$)")


def neutralise(text: str, found: InjectionScore) -> str:
    """`text` with every sentence holding a matched pattern replaced by a short notice."""
    if not found.spans:
        return text
    out: list[str] = []
    for m in _SENTENCE.finditer(text):
        if not m.group(0):
            continue
        if any(s < m.end() and e > m.start() for s, e in found.spans):
            sentence = m.group(0)
            lead = sentence[:len(sentence) - len(sentence.lstrip())]
            out.append(lead + "[removed: instructions aimed at the assistant]" + ("\n" if sentence.endswith("\n") else ""))
        else:
            out.append(m.group(0))
    return "".join(out)
