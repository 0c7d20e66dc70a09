// What the agent did during an answer, in the customer's words ("Added to your order"), with
// the tool calls themselves (names, arguments, results) one click away in a <details>.

const WORDS = {
  en: {
    add_item: "Added to your order", remove_item: "Removed from your order", set_quantity: "Changed the quantity",
    set_item_option: "Changed an option", set_dine_option: "Noted dine-in or takeout", show_order: "Checked your order",
    checkout: "Ready to pay", pay: "Paid", cancel_order: "Cancelled the order", calculator: "Did the math",
    current_time: "Checked the time", knowledge_search: "Looked it up", other: "Took a step for you",
    failed: "didn't work", awaiting: "needs your OK", details: "Details",
  },
  ko: {
    add_item: "주문에 담았어요", remove_item: "주문에서 뺐어요", set_quantity: "수량을 바꿨어요",
    set_item_option: "옵션을 바꿨어요", set_dine_option: "매장/포장을 정했어요", show_order: "주문을 확인했어요",
    checkout: "결제 준비가 됐어요", pay: "결제했어요", cancel_order: "주문을 취소했어요", calculator: "계산했어요",
    current_time: "시간을 확인했어요", knowledge_search: "자료를 찾아봤어요", other: "작업을 했어요",
    failed: "안 됐어요", awaiting: "확인이 필요해요", details: "자세히",
  },
  zh: {
    add_item: "已加入订单", remove_item: "已从订单移除", set_quantity: "已修改数量",
    set_item_option: "已修改选项", set_dine_option: "已选择堂食或外带", show_order: "已查看订单",
    checkout: "可以支付了", pay: "已支付", cancel_order: "已取消订单", calculator: "已计算",
    current_time: "已查看时间", knowledge_search: "已查阅资料", other: "已处理",
    failed: "未成功", awaiting: "需要您确认", details: "详情",
  },
};

const nameOf = (call) => call.name || (call.function && call.function.name) || "tool";
const argsOf = (call) => call.arguments ?? (call.function && call.function.arguments) ?? {};

/** One sentence for the calls of an answer: each action once, repeats counted ("… ×2"). */
export function summarize(calls, lang) {
  const words = WORDS[lang] || WORDS.en;
  const seen = new Map();
  for (const call of calls) {
    const name = nameOf(call);
    let phrase = words[name] || words.other;
    if (call.status === "error") phrase += ` (${words.failed})`;
    else if (call.status === "confirmation_required") phrase += ` (${words.awaiting})`;
    seen.set(phrase, (seen.get(phrase) || 0) + 1);
  }
  return [...seen].map(([phrase, n]) => (n > 1 ? `${phrase} ×${n}` : phrase)).join(" · ");
}

function line(call) {
  const item = document.createElement("li");
  const name = document.createElement("code");
  name.textContent = nameOf(call);
  const args = argsOf(call);
  const text = document.createElement("span");
  text.className = "action-args";
  text.textContent = ` ${typeof args === "string" ? args : JSON.stringify(args)}`;
  item.append(name, text);
  if (call.status) {
    const status = document.createElement("span");
    status.className = `action-status status-${call.status}`;
    status.textContent = ` → ${call.status}`;
    item.append(status);
  }
  return item;
}

/** The <details> element: the summary in words, the calls inside. */
export function actionsNode(calls, lang) {
  const box = document.createElement("details");
  box.className = "actions";
  const summary = document.createElement("summary");
  summary.className = "actions-summary";
  summary.lang = lang;
  summary.textContent = `✓ ${summarize(calls, lang)}`;
  summary.title = (WORDS[lang] || WORDS.en).details;
  const list = document.createElement("ul");
  list.className = "actions-list";
  list.append(...calls.map(line));
  box.append(summary, list);
  return box;
}
