"""What the shop agent says on the rules path, in Korean, English or Chinese.

Each function turns a tool's result into the reply; the wording is fixed text with the facts
filled in, so a rule-answered turn never needs the LLM.
"""

from __future__ import annotations

from typing import Any

STATUS = {
    "ko": {"paid": "결제 완료", "preparing": "상품 준비 중", "shipped": "배송 중", "delivered": "배송 완료", "cancelled": "취소됨"},
    "en": {"paid": "paid", "preparing": "being prepared", "shipped": "shipped", "delivered": "delivered", "cancelled": "cancelled"},
    "zh": {"paid": "已付款", "preparing": "备货中", "shipped": "已发货", "delivered": "已送达", "cancelled": "已取消"},
}
ISSUE = {
    "ko": {"delivery": "배송 문제", "damaged": "파손", "refund": "환불", "exchange": "교환", "other": "기타"},
    "en": {"delivery": "delivery problem", "damaged": "damaged item", "refund": "refund", "exchange": "exchange", "other": "other"},
    "zh": {"delivery": "配送问题", "damaged": "商品破损", "refund": "退款", "exchange": "换货", "other": "其他"},
}
PRIORITY = {
    "ko": {"low": "낮음", "normal": "보통", "high": "높음"},
    "en": {"low": "low", "normal": "normal", "high": "high"},
    "zh": {"low": "低", "normal": "普通", "high": "高"},
}
TOPIC = {
    "ko": {"refund": "환불·반품", "delivery": "배송", "exchange": "교환"},
    "en": {"refund": "refund and returns", "delivery": "delivery", "exchange": "exchange"},
    "zh": {"refund": "退款退货", "delivery": "配送", "exchange": "换货"},
}

TEXT = {
    "ko": {
        "no_orders": "주문 내역이 없어요.",
        "orders": "주문 {count}건이에요:",
        "order": "주문 {number}: {status}, 합계 ₩{total:,} ({items}).",
        "tracking": " 택배 {carrier} 운송장 {tracking}.",
        "confirm_cancel": "주문 {number}({status}, ₩{total:,})을 취소할까요? 취소하시려면 \"네\"라고 답해 주세요.",
        "cancelled": "주문 {number}이 취소되었어요.",
        "declined": "알겠어요, 아무것도 바꾸지 않았어요.",
        "stale": "주문 {number}의 상태가 바뀌어서 (지금: {status}) 취소하지 않았어요. 다시 요청해 주세요.",
        "shipped": "주문 {number}은 이미 발송되어 취소할 수 없어요. 받으신 뒤 반품(환불)을 신청하실 수 있어요.",
        "delivered": "주문 {number}은 배송이 완료되어 취소할 수 없어요. 대신 반품(환불)을 신청하실 수 있어요.",
        "already_cancelled": "주문 {number}은 이미 취소된 주문이에요.",
        "order_not_found": "주문 {ref}을(를) 찾을 수 없어요. 주문번호를 확인해 주세요.",
        "ticket": "문의가 접수되었어요 (번호 {id}, {issue}, 우선순위 {priority}). 담당자가 곧 연락드릴게요.",
        "no_tickets": "접수된 문의가 없어요.",
        "tickets": "문의 {count}건이에요:",
        "ticket_line": "{id}: {issue}, {status}",
        "ticket_status": {"open": "처리 중", "resolved": "해결됨"},
        "ticket_detail": "문의 {id}: {issue}, {status}. 내용: {description}",
        "resolution": " 처리 결과: {resolution}",
        "ticket_not_found": "문의 {ref}을(를) 찾을 수 없어요.",
        "policy": "{topic} 정책 안내입니다:",
        "no_policy": "{topic} 정책 문서를 찾지 못했어요. 상담원에게 문의를 남겨 주시면 안내해 드릴게요.",
        "source": "출처",
        "photos_filed": "사진 {count}장을 문의 {id}에 첨부했어요.",
        "photos_over": " 문의 한 건에 첨부할 수 있는 사진 수를 넘어서 {over}장은 첨부하지 못했어요.",
    },
    "en": {
        "no_orders": "You have no orders.",
        "orders": "You have {count} order(s):",
        "order": "Order {number}: {status}, total ₩{total:,} ({items}).",
        "tracking": " Carrier {carrier}, tracking number {tracking}.",
        "confirm_cancel": "Cancel order {number} ({status}, ₩{total:,})? Reply \"yes\" to cancel it.",
        "cancelled": "Order {number} is cancelled.",
        "declined": "All right, nothing was changed.",
        "stale": "Order {number} changed meanwhile (now: {status}), so it was not cancelled. Please ask again.",
        "shipped": "Order {number} has already shipped and can no longer be cancelled. Once it arrives you can return it for a refund.",
        "delivered": "Order {number} was delivered and can no longer be cancelled. You can return it for a refund instead.",
        "already_cancelled": "Order {number} is already cancelled.",
        "order_not_found": "I could not find order {ref}. Please check the order number.",
        "ticket": "Your ticket is filed ({id}, {issue}, priority {priority}). Our team will get back to you soon.",
        "no_tickets": "You have no support tickets.",
        "tickets": "You have {count} ticket(s):",
        "ticket_line": "{id}: {issue}, {status}",
        "ticket_status": {"open": "open", "resolved": "resolved"},
        "ticket_detail": "Ticket {id}: {issue}, {status}. You wrote: {description}",
        "resolution": " Resolution: {resolution}",
        "ticket_not_found": "I could not find ticket {ref}.",
        "policy": "Our {topic} policy:",
        "no_policy": "I could not find our {topic} policy. File a ticket and our team will explain it.",
        "source": "Source",
        "photos_filed": "I added {count} photo(s) to ticket {id}.",
        "photos_over": " {over} photo(s) did not fit: a ticket takes a limited number of photos.",
    },
    "zh": {
        "no_orders": "您还没有订单。",
        "orders": "您有 {count} 个订单：",
        "order": "订单 {number}：{status}，合计 ₩{total:,}（{items}）。",
        "tracking": " 快递 {carrier}，运单号 {tracking}。",
        "confirm_cancel": "要取消订单 {number}（{status}，₩{total:,}）吗？确认取消请回复“是”。",
        "cancelled": "订单 {number} 已取消。",
        "declined": "好的，没有做任何更改。",
        "stale": "订单 {number} 的状态已变化（现在：{status}），所以没有取消。请重新申请。",
        "shipped": "订单 {number} 已发货，无法取消。收到后可以申请退货退款。",
        "delivered": "订单 {number} 已送达，无法取消。您可以申请退货退款。",
        "already_cancelled": "订单 {number} 已经取消了。",
        "order_not_found": "没有找到订单 {ref}，请核对订单号。",
        "ticket": "已为您提交工单（{id}，{issue}，优先级 {priority}），客服会尽快联系您。",
        "no_tickets": "您没有工单。",
        "tickets": "您有 {count} 个工单：",
        "ticket_line": "{id}：{issue}，{status}",
        "ticket_status": {"open": "处理中", "resolved": "已解决"},
        "ticket_detail": "工单 {id}：{issue}，{status}。内容：{description}",
        "resolution": " 处理结果：{resolution}",
        "ticket_not_found": "没有找到工单 {ref}。",
        "policy": "关于{topic}政策：",
        "no_policy": "没有找到{topic}政策文档。请提交工单，客服会为您说明。",
        "source": "来源",
        "photos_filed": "已将 {count} 张照片添加到工单 {id}。",
        "photos_over": " 每个工单的照片数量有限，{over} 张未能添加。",
    },
}


def t(lang: str, key: str, **values: Any) -> str:
    """One reply line in `lang` (English when the language is unknown)."""
    table = TEXT.get(lang, TEXT["en"])
    return table[key].format(**values)


def _items(order: dict[str, Any], lang: str) -> str:
    names = [f"{i['name']} × {i['quantity']}" for i in order["items"]]
    return ", ".join(names[:3]) + (" …" if len(names) > 3 else "")


def order_line(order: dict[str, Any], lang: str) -> str:
    """One order: number, status, total, items and tracking."""
    line = t(lang, "order", number=order["number"], status=STATUS[lang][order["status"]], total=order["total"], items=_items(order, lang))
    if order.get("carrier") and order.get("tracking_number"):
        line += t(lang, "tracking", carrier=order["carrier"], tracking=order["tracking_number"])
    return line


def orders_reply(result: dict[str, Any], lang: str) -> str:
    orders = result["orders"]
    if not orders:
        return t(lang, "no_orders")
    return "\n".join([t(lang, "orders", count=len(orders)), *(f"- {order_line(o, lang)}" for o in orders)])


def not_cancellable_reply(order: dict[str, Any] | Any, lang: str) -> str:
    """Why an order cannot be cancelled, pointing to a return."""
    status = order["status"] if isinstance(order, dict) else order.status
    number = order["number"] if isinstance(order, dict) else order.number
    key = {"shipped": "shipped", "delivered": "delivered"}.get(status, "already_cancelled")
    return t(lang, key, number=number)


def ticket_reply(ticket: dict[str, Any], lang: str) -> str:
    return t(lang, "ticket", id=ticket["id"], issue=ISSUE[lang][ticket["issue_type"]], priority=PRIORITY[lang][ticket["priority"]])


def photos_reply(ticket_id: str, photos: dict[str, Any] | None, lang: str) -> str:
    """Which photos were filed with a ticket ("" when none were sent)."""
    if not photos:
        return ""
    line = t(lang, "photos_filed", count=len(photos["filed"]), id=ticket_id)
    return line + (t(lang, "photos_over", over=photos["over_limit"]) if photos["over_limit"] else "")


def ticket_detail(ticket: dict[str, Any], lang: str) -> str:
    status = TEXT[lang]["ticket_status"][ticket["status"]]
    line = t(lang, "ticket_detail", id=ticket["id"], issue=ISSUE[lang][ticket["issue_type"]], status=status,
             description=ticket["description"])
    if ticket.get("resolution"):
        line += t(lang, "resolution", resolution=ticket["resolution"])
    return line


def tickets_reply(result: dict[str, Any], lang: str) -> str:
    tickets = result["tickets"]
    if not tickets:
        return t(lang, "no_tickets")
    lines = [t(lang, "tickets", count=len(tickets))]
    for tk in tickets:
        lines.append("- " + t(lang, "ticket_line", id=tk["id"], issue=ISSUE[lang][tk["issue_type"]],
                              status=TEXT[lang]["ticket_status"][tk["status"]]))
    return "\n".join(lines)


def policy_reply(result: dict[str, Any], topic: str, lang: str) -> str:
    """The best policy passages, each with its citation (document title and chunk)."""
    hits = result.get("results") or []
    if not hits:
        return t(lang, "no_policy", topic=TOPIC[lang][topic])
    lines = [t(lang, "policy", topic=TOPIC[lang][topic])]
    for hit in hits[:2]:
        text = " ".join(str(hit["text"]).split())
        if len(text) > 400:
            text = text[:400].rsplit(" ", 1)[0] + " …"
        heading = f" — {hit['heading']}" if hit.get("heading") and hit["heading"] != hit["document"] else ""
        lines.append(f"> {text}\n({TEXT[lang]['source']}: {hit['document']}{heading}, chunk {hit['chunk']})")
    return "\n".join(lines)
