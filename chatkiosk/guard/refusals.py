"""The polite refusal of a blocked turn, in the customer's language (Korean, Chinese or English)."""

from __future__ import annotations

import re

_HANGUL = re.compile("[가-힣ㄱ-ㅎㅏ-ㅣ]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile("[\u3040-\u30ff]")

_REFUSALS = {
    "profanity": {
        "ko": "죄송하지만 욕설이나 비속어가 담긴 메시지에는 답변드릴 수 없어요. 다시 말씀해 주시겠어요?",
        "en": "Sorry, I can't respond to messages with abusive language. Could you say that another way?",
        "zh": "抱歉，我无法回复含有不当用语的消息。请换一种说法好吗？",
    },
    "injection": {
        "ko": "죄송하지만 그 요청은 처리할 수 없어요. 다른 도움이 필요하시면 말씀해 주세요.",
        "en": "Sorry, I can't help with that request. Is there anything else I can do for you?",
        "zh": "抱歉，我无法处理这个请求。还有什么可以帮您的吗？",
    },
    "pii": {
        "ko": "개인정보(전화번호, 카드번호, 주민등록번호, 이메일)는 채팅으로 보내지 말아 주세요. 그 외에 도와드릴 일이 있을까요?",
        "en": "Please don't send personal data (phone, card or ID numbers, e-mail addresses) in the chat. How else can I help?",
        "zh": "请不要在聊天中发送个人信息（电话、银行卡号、身份证号、邮箱）。还有什么可以帮您的吗？",
    },
}


def detect_language(text: str) -> str:
    """`ko` when the text has Hangul, `zh` when it has Han characters (and no kana), else `en`."""
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text) and not _KANA.search(text):
        return "zh"
    return "en"


def refusal(check: str, language: str) -> str:
    """The refusal for a turn blocked by `check`, in `language` (ko, en or zh)."""
    texts = _REFUSALS.get(check, _REFUSALS["injection"])
    return texts.get(language, texts["en"])
