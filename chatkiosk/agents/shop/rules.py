"""Rules first: plain shop requests in Korean, English or Chinese, recognised with no LLM call.

`recognise(text)` answers the intent, the tool that serves it and its arguments (order numbers
pulled from the text), or None when the text is not a plain request — then the LLM answers with
the same tools. The rules would rather decline than guess: a request that mixes intents, or a
cancel without an order number, goes to the LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# --- language ----------------------------------------------------------------------------

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def detect_lang(text: str, default: str = "en") -> str:
    """`ko` for Hangul, `zh` for Chinese characters, `en` for Latin letters, else `default`."""
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    if re.search(r"[A-Za-z]{2,}", text):
        return "en"
    return default


# --- order numbers and ids ---------------------------------------------------------------

_ID = re.compile(r"(?<![A-Za-z0-9_])((?:so|tkt)_[0-9a-z]{26})(?![A-Za-z0-9_])")
# The shop's numbers: letters and digits (and `-`), with at least one digit, 4+ characters.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_-])#?([A-Za-z]{0,4}-?\d[A-Za-z0-9-]{2,38})(?![A-Za-z0-9_-])")


def order_refs(text: str) -> list[str]:
    """Order numbers and order ids in the text, in order of appearance."""
    refs = [m.group(1) for m in _ID.finditer(text) if m.group(1).startswith("so_")]
    for m in _NUMBER.finditer(_ID.sub(" ", text)):
        token = m.group(1).strip("-")
        if len(token) >= 4 and any(c.isdigit() for c in token):
            refs.append(token)
    return refs


def ticket_refs(text: str) -> list[str]:
    """Ticket ids in the text."""
    return [m.group(1) for m in _ID.finditer(text) if m.group(1).startswith("tkt_")]


# --- words -------------------------------------------------------------------------------


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.I)


CANCEL = _words(r"취소\s*(?:해|하|할|요|좀|부탁|신청|처리)", r"취소$", r"\bcancel\b(?!led|ed)", r"(?<!已)取消(?!的)")
DONT_CANCEL = _words(r"취소\s*(?:하지|안\s*해|말아)", r"\b(?:don'?t|do not|never mind)\b[^.?!]*\bcancel", r"(?:不要|别|不用)取消")

DAMAGED = _words(r"파손", r"깨[져졌지]", r"부서[져졌]", r"망가[져졌]", r"찌그러", r"찢어[져졌]",
                 r"\bdamaged?\b", r"\bbroken\b", r"\bcracked\b", r"\bsmashed\b", r"\bdented\b",
                 r"破损", r"坏了", r"碎了", r"损坏", r"摔坏")
NOT_ARRIVED = _words(r"안\s*왔", r"안\s*와", r"도착하지\s*않", r"못\s*받", r"분실", r"안\s*오",
                     r"never (?:arrived|came|got here|received|got it)", r"(?:has ?n'?t|have ?n'?t|did ?n'?t|not) (?:arrived|come|received|been delivered)",
                     r"\blost\b", r"没收到", r"没到", r"未收到", r"丢失", r"丢了", r"还没到")
COMPLAINT = _words(r"불만", r"신고", r"항의", r"클레임", r"문제가\s*있", r"\bcomplain", r"\b(?:file|open|raise) (?:a )?(?:ticket|claim)", r"投诉", r"申诉")
REFUND = _words(r"환불", r"반품", r"\brefund", r"\breturns?\b", r"money back", r"退款", r"退货", r"退钱")
EXCHANGE = _words(r"교환", r"\bexchange", r"\bswap\b", r"换货", r"调换", r"更换", r"退换")
DELIVERY_POLICY = _words(r"배송(?:비|기간|정책|일|은|이|\s*얼마|\s*며칠)", r"\bdeliver(?:y|ies)\b", r"\bshipping\b", r"\bship\b",
                         r"配送", r"运费", r"发货(?:时间|要|需要|多久)", r"送货")
POLICY = _words(r"정책", r"규정", r"어떻게", r"얼마나", r"언제", r"며칠", r"가능", r"되나요", r"\?", r"？",
                r"\bpolic(?:y|ies)\b", r"\bhow\b", r"\bcan i\b", r"\bdo you\b", r"\bwhat\b", r"\bwhen\b",
                r"政策", r"规定", r"怎么", r"如何", r"多久", r"几天", r"可以", r"能不能", r"吗")
STATUS_QUERY = _words(r"어디", r"배송", r"언제", r"상태", r"도착", r"조회", r"확인", r"알려", r"추적",
                      r"\bwhere\b", r"\bstatus\b", r"\btrack", r"\bwhen\b", r"\barriv", r"\beta\b", r"\bshipping\b", r"\bcheck\b",
                      r"\bdetails?\b", r"\bshow\b", r"\bupdates?\b", r"\b(?:shipped|delivered|dispatched)\b", r"发货了", r"到了没", r"到哪", r"在哪", r"状态", r"物流", r"什么时候", r"查", r"快递", r"进度", r"到了吗")
ORDER_WORD = _words(r"주문", r"\border", r"订单", r"单号")
LIST_ORDERS = _words(r"주문\s*(?:목록|내역|리스트|현황)", r"주문들", r"최근\s*주문", r"주문한\s*(?:거|것|상품)", r"(?:내|제|저의|나의)\s*주문",
                     r"\bmy orders\b", r"\b(?:list|show|see|view|check)\b[^.?!]*\borders\b", r"\ball (?:of )?my orders\b",
                     r"\bwhat (?:have|did) i (?:ordered|order|bought|buy)\b", r"\border history\b", r"\bwhich of my orders\b",
                     r"我的订单", r"我(?:最近|全部|所有)的?订单", r"最近的?订单", r"订单列表", r"所有的?订单", r"订单有哪些", r"哪些订单", r"的订单有")
LIST_TICKETS = _words(r"문의\s*(?:내역|목록|현황)", r"(?:내|제)\s*문의", r"티켓", r"접수\s*내역",
                      r"\b(?:my|support) tickets?\b", r"\bmy complaints\b", r"工单", r"我的投诉")
ORDER_STATUS_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("shipped", _words(r"배송\s*중", r"배송중", r"발송(?:된|됨)", r"\bshipped\b", r"\bin transit\b", r"已发货", r"运输中", r"配送中")),
    ("preparing", _words(r"준비\s*중", r"\bbeing prepared\b", r"\bpreparing\b", r"准备中", r"备货")),
    ("delivered", _words(r"배송\s*완료", r"도착한", r"\bdelivered\b", r"已送达", r"已签收")),
    ("cancelled", _words(r"취소된", r"\bcancell?ed\b", r"已取消", r"取消的")),
    ("paid", _words(r"결제\s*완료", r"\bpaid\b", r"已付款", r"已支付")),
]

YES = _words(r"^(?:네|예|응|넵|좋아요|좋아|확인|진행해\s*주세요|진행해|맞아요|그렇게\s*해\s*주세요|취소해\s*주세요)$",
             r"^(?:yes|yes please|yep|yeah|confirm|confirmed|ok|okay|sure|go ahead|do it|please do)$",
             r"^(?:是|是的|好|好的|确认|对|可以|行|确定)$")
NO = _words(r"^(?:아니요|아니|아뇨|아니오|됐어요|그만|하지\s*마세요|취소\s*안\s*할게요)$",
            r"^(?:no|nope|no thanks|don'?t|never mind|stop)$", r"^(?:不|不要|不用|算了|不是|别)$")


def _short_answer(text: str) -> str:
    return re.sub(r"[\s.!?~。！？,，]+$", "", text.strip()).strip()


def is_yes(text: str) -> bool:
    """A short yes in ko/en/zh ("네", "yes", "好的")."""
    return bool(YES.match(_short_answer(text)))


def is_no(text: str) -> bool:
    """A short no in ko/en/zh ("아니요", "no", "算了")."""
    return bool(NO.match(_short_answer(text)))


# --- intents -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Intent:
    """What a plain request asks for: the intent, its tool, the tool's arguments, the language."""

    name: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    lang: str = "en"


def policy_topic(text: str) -> str | None:
    """refund / exchange / delivery, by the words the text uses (refund wins a tie)."""
    if REFUND.search(text):
        return "refund"
    if EXCHANGE.search(text):
        return "exchange"
    if DELIVERY_POLICY.search(text):
        return "delivery"
    return None


def _status_filter(text: str) -> str | None:
    for status, pattern in ORDER_STATUS_WORDS:
        if pattern.search(text):
            return status
    return None


def _issue_type(text: str) -> str | None:
    if DAMAGED.search(text):
        return "damaged"
    if NOT_ARRIVED.search(text):
        return "delivery"
    return None


def recognise(text: str) -> Intent | None:
    """The plain request in `text`, or None when the LLM should answer."""
    lang = detect_lang(text)
    tickets = ticket_refs(text)
    orders = order_refs(text)
    if len(text) > 300 or len(set(orders)) > 1:
        return None
    if tickets:
        return Intent("get_ticket", "get_ticket", {"ticket_id": tickets[0]}, lang) if len(tickets) == 1 else None
    if orders:
        return _about_order(text, orders[0], lang)
    return _without_number(text, lang)


def _about_order(text: str, ref: str, lang: str) -> Intent | None:
    cancel = CANCEL.search(text) is not None and DONT_CANCEL.search(text) is None
    issue = _issue_type(text)
    complaint = COMPLAINT.search(text) is not None
    if cancel and (issue or complaint):
        return None  # a cancel and a complaint at once: let the LLM sort it out
    if cancel:
        return Intent("cancel_order", "cancel_order", {"order": ref}, lang)
    if issue or complaint:
        kind = issue or ("refund" if REFUND.search(text) else "exchange" if EXCHANGE.search(text) else "other")
        return Intent("create_ticket", "create_ticket", {"order": ref, "issue_type": kind}, lang)
    if REFUND.search(text) or EXCHANGE.search(text):
        return None  # "refund A-1001" may be a question or a request: the LLM asks
    if STATUS_QUERY.search(text) or ORDER_WORD.search(text) or len(text.strip()) <= len(ref) + 2:
        return Intent("get_order", "get_order", {"order": ref}, lang)
    return None


def _without_number(text: str, lang: str) -> Intent | None:
    if LIST_TICKETS.search(text):
        return Intent("list_tickets", "list_tickets", {}, lang)
    if LIST_ORDERS.search(text):
        status = _status_filter(text)
        if CANCEL.search(text) and status != "cancelled":
            return None  # "I want to cancel my order": which one? the LLM asks
        return Intent("list_orders", "list_orders", {"status": status} if status else {}, lang)
    if CANCEL.search(text) or _issue_type(text) or COMPLAINT.search(text):
        return None  # needs an order number: the LLM asks for it
    topic = policy_topic(text)
    if topic is not None and POLICY.search(text):
        return Intent("search_policies", "search_policies", {"topic": topic}, lang)
    return None


def llm_intent(text: str) -> str:
    """The coarse intent of a turn the rules did not answer, for routing it to a provider:
    `claim` (a complaint), `order` (about an order), `policy` (a policy question) or `chat`."""
    if _issue_type(text) or COMPLAINT.search(text):
        return "claim"
    if order_refs(text) or ticket_refs(text) or ORDER_WORD.search(text) or CANCEL.search(text):
        return "order"
    if policy_topic(text):
        return "policy"
    return "chat"
