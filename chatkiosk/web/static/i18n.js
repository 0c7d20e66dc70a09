// The page's words in Korean, English and Chinese. The language comes from the browser and can
// be switched (kept in localStorage); `t(key, vars)` looks a sentence up, `translate(root)` fills
// the elements of index.html marked `data-i18n` (text) or `data-i18n-<attribute>`.

const STORE_KEY = "chatkiosk.lang";
export const LANGS = [["ko", "한국어"], ["en", "English"], ["zh", "中文"]];

const WORDS = {
  en: {
    "login.title": "Sign in", "login.register_title": "Create your account",
    "login.lede": "Chat with assistants and order at the kiosk — in 한국어, English or 中文.",
    "login.username": "Username", "login.password": "Password", "login.hint": "At least 8 characters, not a common password.",
    "login.submit": "Sign in", "login.register_submit": "Create account", "login.switch": "Create an account",
    "login.switch_back": "I already have an account", "login.wrong": "Wrong username or password.",
    "signed_out.replaced": "You signed in somewhere else, so this session ended.",
    "signed_out.logout": "You have been signed out.",
    "signed_out.password_changed": "Your password was changed. Please sign in again.",
    "signed_out.disabled": "This account has been disabled.",
    "signed_out.refresh_reuse": "For your safety this session was ended. Please sign in again.",
    "signed_out.expired": "Your session expired. Please sign in again.",
    "nav.conversations": "Conversations", "nav.agent": "Agent for a new conversation", "nav.new_chat": "New chat",
    "nav.older": "Show older conversations", "nav.sign_out": "Sign out", "nav.empty": "No conversations yet.",
    "nav.rename": "Rename", "nav.delete": "Delete", "nav.delete_confirm": "Delete?", "nav.new_title": "New title",
    "nav.language": "Language", "conn.live": "Connected", "conn.connecting": "Connecting…", "conn.offline": "Reconnecting…",
    "title.kiosk": "New order", "title.other": "New conversation",
    "agent.assistant": "Assistant", "agent.kiosk": "Burger kiosk", "agent.shop": "Shop help",
    "welcome.title": "What would you like to do?", "welcome.text": "Pick an agent to start a conversation.",
    "presets.blank": "Blank conversation", "presets.heading": "Start from a preset", "presets.new": "Save a preset…",
    "presets.name": "Name", "presets.prompt": "Prompt", "presets.save": "Save preset", "presets.cancel": "Cancel",
    "presets.delete": "Delete preset",
    "composer.message": "Message", "composer.placeholder": "Message… (Enter to send, Shift+Enter for a new line)",
    "composer.kiosk": "Order in any language…", "composer.send": "Send", "composer.stop": "■ Stop",
    "composer.photo": "Attach a photo", "composer.remove_photo": "Remove this photo", "chat.photo": "Photo",
    "chat.more": "Scroll up for earlier messages", "chat.busy": "An answer is still being written — stop it or wait a moment.",
    "chat.dropped": "The connection dropped, so the answer was stopped. Send it again when you're back.",
    "chat.kiosk_title": "Welcome to the counter", "chat.kiosk_text": "Tell me what you'd like in Korean, English or Chinese, or tap the menu.",
    "chat.title": "Start the conversation", "chat.text": "Ask anything. Answers stream in as they are written.",
    "status.cancelled": "stopped", "status.incomplete": "cut off — the model stopped answering", "status.error": "failed",
    "status.streaming": "being written…",
    "hint.1": "What can you do?", "hint.2": "Write a Python function that reverses a string", "hint.3": "What time is it?",
    "error.quota": "You have used today's token allowance. It resets at midnight (UTC).",
    "error.streams": "Too many answers are being generated at once.", "error.fast": "You're sending messages a little fast.",
    "error.retry_in": "Try again in {s} s.", "error.retry": "Try again in a moment.",
    "error.timeout": "The model took too long to answer. Please try again.",
    "error.upstream": "The model is not reachable right now. Please try again in a little while.",
    "error.in_progress": "An answer is still being written in this conversation.",
    "error.blocked": "This message was blocked by the server's content rules.",
    "error.offline": "The server could not be reached. Check your connection.", "error.other": "Something went wrong.",
    "bar.items": "{n} items", "bar.item": "1 item", "bar.view": "View order",
  },
  ko: {
    "login.title": "로그인", "login.register_title": "계정 만들기",
    "login.lede": "어시스턴트와 대화하고 키오스크에서 주문하세요 — 한국어, English, 中文.",
    "login.username": "아이디", "login.password": "비밀번호", "login.hint": "8자 이상, 흔한 비밀번호는 안 돼요.",
    "login.submit": "로그인", "login.register_submit": "계정 만들기", "login.switch": "계정 만들기",
    "login.switch_back": "이미 계정이 있어요", "login.wrong": "아이디 또는 비밀번호가 틀렸어요.",
    "signed_out.replaced": "다른 곳에서 로그인해서 이 세션이 끝났어요.",
    "signed_out.logout": "로그아웃되었어요.",
    "signed_out.password_changed": "비밀번호가 바뀌었어요. 다시 로그인해 주세요.",
    "signed_out.disabled": "이 계정은 사용이 중지되었어요.",
    "signed_out.refresh_reuse": "안전을 위해 세션을 끝냈어요. 다시 로그인해 주세요.",
    "signed_out.expired": "세션이 만료되었어요. 다시 로그인해 주세요.",
    "nav.conversations": "대화 목록", "nav.agent": "새 대화의 에이전트", "nav.new_chat": "새 대화",
    "nav.older": "이전 대화 더 보기", "nav.sign_out": "로그아웃", "nav.empty": "아직 대화가 없어요.",
    "nav.rename": "이름 바꾸기", "nav.delete": "삭제", "nav.delete_confirm": "삭제할까요?", "nav.new_title": "새 제목",
    "nav.language": "언어", "conn.live": "연결됨", "conn.connecting": "연결 중…", "conn.offline": "다시 연결 중…",
    "title.kiosk": "새 주문", "title.other": "새 대화",
    "agent.assistant": "어시스턴트", "agent.kiosk": "버거 키오스크", "agent.shop": "쇼핑 도우미",
    "welcome.title": "무엇을 할까요?", "welcome.text": "에이전트를 골라 대화를 시작하세요.",
    "presets.blank": "빈 대화", "presets.heading": "프리셋으로 시작", "presets.new": "프리셋 저장…",
    "presets.name": "이름", "presets.prompt": "프롬프트", "presets.save": "프리셋 저장", "presets.cancel": "취소",
    "presets.delete": "프리셋 삭제",
    "composer.message": "메시지", "composer.placeholder": "메시지… (Enter로 보내기, Shift+Enter로 줄바꿈)",
    "composer.kiosk": "어떤 언어로든 주문하세요…", "composer.send": "보내기", "composer.stop": "■ 멈추기",
    "composer.photo": "사진 첨부", "composer.remove_photo": "이 사진 빼기", "chat.photo": "사진",
    "chat.more": "위로 스크롤하면 이전 메시지가 보여요", "chat.busy": "아직 답을 쓰는 중이에요 — 멈추거나 잠시 기다려 주세요.",
    "chat.dropped": "연결이 끊겨 답변이 멈췄어요. 다시 연결되면 한 번 더 보내 주세요.",
    "chat.kiosk_title": "어서 오세요", "chat.kiosk_text": "한국어, 영어, 중국어로 말씀하시거나 메뉴를 눌러 주세요.",
    "chat.title": "대화를 시작하세요", "chat.text": "무엇이든 물어보세요. 답변이 쓰이는 대로 보여요.",
    "status.cancelled": "멈춤", "status.incomplete": "중간에 끊겼어요 — 모델이 답을 멈췄어요", "status.error": "실패",
    "status.streaming": "작성 중…",
    "hint.1": "무엇을 할 수 있어요?", "hint.2": "문자열을 뒤집는 파이썬 함수를 써 줘", "hint.3": "지금 몇 시예요?",
    "error.quota": "오늘 쓸 수 있는 토큰을 다 썼어요. 자정(UTC)에 다시 채워져요.",
    "error.streams": "동시에 만들어지는 답변이 너무 많아요.", "error.fast": "메시지를 조금 빨리 보내고 있어요.",
    "error.retry_in": "{s}초 뒤에 다시 해 보세요.", "error.retry": "잠시 뒤에 다시 해 보세요.",
    "error.timeout": "모델의 답이 너무 오래 걸렸어요. 다시 해 보세요.",
    "error.upstream": "지금은 모델에 연결할 수 없어요. 잠시 뒤에 다시 해 보세요.",
    "error.in_progress": "이 대화에서 아직 답을 쓰고 있어요.",
    "error.blocked": "서버의 콘텐츠 규칙에 따라 이 메시지는 막혔어요.",
    "error.offline": "서버에 연결할 수 없어요. 연결을 확인해 주세요.", "error.other": "문제가 생겼어요.",
    "bar.items": "{n}개", "bar.item": "1개", "bar.view": "주문 보기",
    "agent_about.assistant": "무엇이든 대화해요. 자료를 찾고, 계산하고, 시간을 알려 줘요.",
    "agent_about.kiosk": "버거 가게 카운터: 한국어, 영어, 중국어로 말하거나 눌러서 주문해요.",
    "agent_about.shop": "온라인 쇼핑몰 고객 센터: 주문 조회와 취소, 문의 접수, 환불·배송 안내.",
  },
  zh: {
    "login.title": "登录", "login.register_title": "创建账号",
    "login.lede": "与助手聊天，在自助点餐机点餐 — 한국어、English 或中文。",
    "login.username": "用户名", "login.password": "密码", "login.hint": "至少 8 个字符，不能是常见密码。",
    "login.submit": "登录", "login.register_submit": "创建账号", "login.switch": "创建账号",
    "login.switch_back": "我已有账号", "login.wrong": "用户名或密码错误。",
    "signed_out.replaced": "您在别处登录了，此会话已结束。",
    "signed_out.logout": "您已退出登录。",
    "signed_out.password_changed": "您的密码已更改，请重新登录。",
    "signed_out.disabled": "此账号已被停用。",
    "signed_out.refresh_reuse": "为了您的安全，此会话已结束。请重新登录。",
    "signed_out.expired": "会话已过期，请重新登录。",
    "nav.conversations": "对话", "nav.agent": "新对话的助手", "nav.new_chat": "新对话",
    "nav.older": "显示更早的对话", "nav.sign_out": "退出", "nav.empty": "还没有对话。",
    "nav.rename": "重命名", "nav.delete": "删除", "nav.delete_confirm": "删除？", "nav.new_title": "新标题",
    "nav.language": "语言", "conn.live": "已连接", "conn.connecting": "连接中…", "conn.offline": "正在重新连接…",
    "title.kiosk": "新订单", "title.other": "新对话",
    "agent.assistant": "助手", "agent.kiosk": "汉堡点餐机", "agent.shop": "购物帮助",
    "welcome.title": "您想做什么？", "welcome.text": "选择一个助手开始对话。",
    "presets.blank": "空白对话", "presets.heading": "从预设开始", "presets.new": "保存预设…",
    "presets.name": "名称", "presets.prompt": "提示词", "presets.save": "保存预设", "presets.cancel": "取消",
    "presets.delete": "删除预设",
    "composer.message": "消息", "composer.placeholder": "消息…（Enter 发送，Shift+Enter 换行）",
    "composer.kiosk": "用任何语言点餐…", "composer.send": "发送", "composer.stop": "■ 停止",
    "composer.photo": "添加照片", "composer.remove_photo": "移除这张照片", "chat.photo": "照片",
    "chat.more": "向上滚动查看更早的消息", "chat.busy": "回答还在生成中 — 请停止或稍候。",
    "chat.dropped": "连接断开，回答已停止。恢复连接后请重新发送。",
    "chat.kiosk_title": "欢迎光临", "chat.kiosk_text": "用韩语、英语或中文告诉我您想要什么，或点击菜单。",
    "chat.title": "开始对话", "chat.text": "随便问。回答会边写边显示。",
    "status.cancelled": "已停止", "status.incomplete": "被截断 — 模型停止了回答", "status.error": "失败",
    "status.streaming": "正在生成…",
    "hint.1": "你能做什么？", "hint.2": "写一个反转字符串的 Python 函数", "hint.3": "现在几点？",
    "error.quota": "您今天的令牌额度已用完，将在 UTC 午夜重置。",
    "error.streams": "同时生成的回答太多了。", "error.fast": "您发消息有点快。",
    "error.retry_in": "请 {s} 秒后重试。", "error.retry": "请稍后重试。",
    "error.timeout": "模型回答超时，请重试。",
    "error.upstream": "暂时无法连接模型，请稍后重试。",
    "error.in_progress": "此对话中的回答还在生成。",
    "error.blocked": "根据服务器的内容规则，此消息已被拦截。",
    "error.offline": "无法连接服务器，请检查网络。", "error.other": "出了点问题。",
    "bar.items": "{n} 件", "bar.item": "1 件", "bar.view": "查看订单",
    "agent_about.assistant": "什么都可以聊：查资料、计算、报时。",
    "agent_about.kiosk": "汉堡店柜台：用韩语、英语或中文说话或点击来点餐。",
    "agent_about.shop": "网店客服：查询和取消订单、提交工单、退款与配送说明。",
  },
};

/** ko, en or zh from the browser's preferred languages (English when none fits). */
export function browserLang() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().slice(0, 2);
    if (WORDS[base]) return base;
  }
  return "en";
}

let current = (() => {
  try { const saved = localStorage.getItem(STORE_KEY); if (WORDS[saved]) return saved; } catch { /* private mode */ }
  return browserLang();
})();
const listeners = new Set();

/** The page's language now. */
export function lang() { return current; }

/** Switch the page's language (remembered in this browser) and tell whoever listens. */
export function setLang(next) {
  if (!WORDS[next] || next === current) return;
  current = next;
  try { localStorage.setItem(STORE_KEY, next); } catch { /* private mode */ }
  document.documentElement.lang = next;
  translate(document);
  for (const fn of listeners) fn(next);
}

/** Call `fn(lang)` after every switch. */
export function onLangChange(fn) { listeners.add(fn); }

/** The sentence `key` in the page's own language, or `fallback` when it has none (English text from the server). */
export function tOr(key, fallback) {
  return (WORDS[current] && WORDS[current][key]) || fallback;
}

/** The sentence `key` in the page's language, `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const text = (WORDS[current] && WORDS[current][key]) ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Fill `data-i18n` (text) and `data-i18n-placeholder|title|aria-label` attributes under `root`. */
export function translate(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attr of ["placeholder", "title", "aria-label"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) node.setAttribute(attr, t(node.getAttribute(`data-i18n-${attr}`)));
  }
}

/** A `<select>` of the three languages that switches the page. */
export function languageSelect(className) {
  const select = document.createElement("select");
  select.className = className;
  select.setAttribute("data-i18n-aria-label", "nav.language");
  select.setAttribute("aria-label", t("nav.language"));
  for (const [value, label] of LANGS) {
    const option = document.createElement("option");
    option.value = value;
    option.lang = value;
    option.textContent = label;
    option.selected = value === current;
    select.append(option);
  }
  select.addEventListener("change", () => setLang(select.value));
  onLangChange((next) => { select.value = next; });
  return select;
}

document.documentElement.lang = current;
