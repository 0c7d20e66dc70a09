"""Word lists for the rule-based parser: every phrase a customer uses, by kind, in ko/en/zh.

A phrase is matched on *units*: one Hangul or Han character, one Latin word, or one digit run;
spaces between Hangul/Han characters are ignored, so "새우 버거" and "새우버거" are the same.
Item names come from the menu's aliases (menu.json); everything else lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Token kinds.
ITEM, QTY, OPT, SEP, MORE, CHANGE, TO, REMOVE, SUBST, SUBST_REV = (
    "item", "qty", "opt", "sep", "more", "change", "to", "remove", "subst", "subst_rev")
CANCEL, DINE, CHECKOUT, PAY, SHOW, QUESTION, DEMO, FILLER = (
    "cancel", "dine", "checkout", "pay", "show", "question", "demo", "filler")
PART, ALL, GENERIC, MAYBE_QUESTION, ONLY = "part", "all", "generic", "maybe_question", "only"

UNIT_RE = re.compile(r"[a-z0-9]+(?:['\-][a-z]+)*|[\u3131-\u318e\uac00-\ud7a3]|[\u3400-\u9fff]|[?？]|[,，、;；.。!！~]")


def units(text: str) -> tuple[str, ...]:
    """Split normalised text into matching units (see the module docstring)."""
    out = []
    for u in UNIT_RE.findall(text):
        if not u.isdigit() and any(c.isdigit() for c in u):  # "2x", "x2", "3cokes": digits apart
            out.extend(re.findall(r"\d+|[^\d]+", u))
        else:
            out.append(u)
    return tuple(out)


@dataclass(frozen=True)
class Entry:
    kind: str
    value: object = None
    weak: bool = False


_LARGE = [("size", "large")]
_REGULAR = [("size", "regular")]
_ICE_NONE = [("ice", "none")]
_ICE_LESS = [("ice", "less")]
_ICE_NORMAL = [("ice", "normal")]
_HOT = [("temperature", "hot")]
_COLD = [("temperature", "iced"), ("ice", "normal")]
_NORMAL = [("size", "regular"), ("ice", "normal")]

OPTIONS: dict[str, list[tuple[str, str]]] = {
    # ko
    **dict.fromkeys(["라지", "라지사이즈", "큰거", "큰걸", "큰걸로", "큰거로", "큰사이즈", "큰", "대자", "대사이즈",
                     "사이즈업", "업사이즈", "엘사이즈", "라아지"], _LARGE),
    **dict.fromkeys(["레귤러", "레귤러사이즈", "보통사이즈", "작은거", "작은걸로", "작은", "기본사이즈", "미디엄",
                     "중간사이즈", "스몰", "작은사이즈"], _REGULAR),
    **dict.fromkeys(["보통", "기본"], _NORMAL),
    **dict.fromkeys(["얼음빼고", "얼음빼", "얼음은빼고", "얼음은빼", "얼음없이", "얼음은없이", "얼음없는", "얼음x",
                     "노아이스", "얼음빼서", "얼음은빼서", "얼음넣지말고", "얼음은넣지말고", "얼음다빼", "얼음은다빼", "얼음전부빼",
                     "얼음다빼고"], _ICE_NONE),
    **dict.fromkeys(["얼음적게", "얼음은적게", "얼음조금", "얼음은조금", "얼음조금만", "얼음약간", "얼음덜",
                     "얼음은덜", "얼음살짝", "얼음조금만넣어"], _ICE_LESS),
    **dict.fromkeys(["얼음보통", "얼음은보통", "얼음많이", "얼음넣어서", "얼음넣고"], _ICE_NORMAL),
    **dict.fromkeys(["따뜻한", "따뜻하게", "따뜻한거", "따뜻한걸로", "따듯한", "따듯하게", "뜨거운", "뜨겁게",
                     "뜨거운거", "핫"], _HOT),
    **dict.fromkeys(["아이스", "차가운", "차갑게", "차가운거", "시원한", "시원하게", "시원한거"], _COLD),
    # en
    **dict.fromkeys(["large", "big", "larger", "large size", "large-size", "large-sized", "upsize", "size up",
                     "bigger"], _LARGE),
    **dict.fromkeys(["regular", "medium", "small", "regular size", "regular-size", "smaller", "standard"], _REGULAR),
    **dict.fromkeys(["normal"], _NORMAL),
    **dict.fromkeys(["no ice", "without ice", "hold the ice", "ice-free", "zero ice", "no-ice", "skip the ice",
                     "without any ice", "skip ice", "hold ice", "no ice at all", "neither with ice", "neither one with ice",
                     "none with ice"], _ICE_NONE),
    **dict.fromkeys(["less ice", "light ice", "little ice", "a little ice", "easy on the ice", "not much ice",
                     "less-ice", "just a little ice", "only a little ice"], _ICE_LESS),
    **dict.fromkeys(["normal ice", "regular ice", "with ice", "extra ice"], _ICE_NORMAL),
    **dict.fromkeys(["hot", "warm"], _HOT),
    **dict.fromkeys(["iced", "ice", "cold"], _COLD),
    # zh
    **dict.fromkeys(["大杯", "大份", "大号", "大的", "大", "加大", "大杯的", "大份的"], _LARGE),
    **dict.fromkeys(["中杯", "小杯", "中份", "小份", "中号", "小号", "小的", "中的", "普通杯"], _REGULAR),
    **dict.fromkeys(["正常", "普通"], _NORMAL),
    **dict.fromkeys(["去冰", "不要冰", "不加冰", "无冰", "走冰", "不放冰"], _ICE_NONE),
    **dict.fromkeys(["少冰", "冰少一点", "少放冰", "少一点冰", "微冰"], _ICE_LESS),
    **dict.fromkeys(["正常冰", "加冰", "多冰"], _ICE_NORMAL),
    **dict.fromkeys(["热", "热的", "热饮"], _HOT),
    **dict.fromkeys(["冰", "冰的", "冰镇"], _COLD),
}

_NATIVE_KO = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10}
_COUNTERS_KO = ["개", "게", "잔", "병", "봉지", "인분", "그릇", "캔", "컵", "봉", "팩", "통"]
_ALONE_KO = {"하나": 1, "둘": 2, "셋": 3, "넷": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_NUM_ZH = {"一": 1, "两": 2, "二": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_COUNTERS_ZH = ["个", "杯", "份", "瓶", "包", "块", "只", "盒", "根", "听", "罐", "碗", "套"]
_NUM_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "a couple of": 2, "a couple": 2, "couple of": 2, "a pair of": 2, "single": 1, "double order of": 2}

QUANTITIES: dict[str, int] = {
    **{n + c: v for n, v in _NATIVE_KO.items() for c in _COUNTERS_KO},
    **_ALONE_KO,
    **{n + c: v for n, v in _NUM_ZH.items() for c in _COUNTERS_ZH},
    "俩": 2,
    **_NUM_EN,
}
WEAK_QUANTITIES = {"a": 1, "an": 1}

PHRASES: dict[str, list[str]] = {
    SEP: ["랑", "이랑", "하고", "그리고", "및", "와", "과", "또", "and", "plus", "also", "then",
          "和", "跟", "还有", "另外", "然后", "还要", "再要", "以及", "与", ",", "，", "、", ";", "；", ".", "。", "!", "！", "~"],
    MORE: ["더", "추가", "추가로", "추가요", "추가해", "추가할게요", "추가할께요", "more", "another", "extra", "add", "additional",
           "再来", "再加", "加", "再", "多加", "多来", "追加"],
    CHANGE: ["바꿔", "바꿔줘", "바꿔주세요", "바꿔주시고", "바꿀게요", "바꿀께요", "바꿔요", "변경", "변경해", "수정", "고쳐",
             "make that", "make it", "make those", "make them", "change", "change it to", "change that to", "switch",
             "swap", "instead", "i meant", "update", "make", "改成", "换成", "改为", "换", "改", "变成", "换一下", "改一下"],
    TO: ["로", "으로"],
    REMOVE: ["빼", "빼고", "빼주세요", "빼줘", "빼줘요", "빼요", "뺄게요", "뺄께요", "빼주시고", "빼주실래요", "취소",
             "취소해", "없애", "제외", "필요없어요", "안먹을게요", "됐어요", "지워", "지워주세요", "지워줘",
             "remove", "cancel", "delete", "take out", "drop", "take off", "don't want", "dont want", "get rid of",
             "minus", "no more", "forget", "forget the", "scratch", "leave out", "skip",
             "不要", "去掉", "删掉", "删除", "取消", "拿掉", "减掉", "减", "不要了", "算了", "少"],
    SUBST: ["말고", "대신", "대신에", "而不是"],
    SUBST_REV: ["instead of", "rather than", "in place of"],
    CANCEL: ["주문취소", "전부취소", "다취소", "전체취소", "모두취소", "처음부터", "처음부터다시", "주문을취소", "주문전체취소",
             "다시주문할게요", "cancel my order", "cancel the order", "cancel everything", "cancel it all", "cancel all",
             "start over", "cancel the whole order", "clear my order", "clear the order", "never mind everything",
             "取消订单", "全部取消", "都不要了", "全部不要了", "重新点", "不点了", "订单取消", "全都取消"],
    CHECKOUT: ["계산", "계산할게요", "계산해주세요", "계산이요", "결제", "결제할게요", "결제해주세요", "결제요", "다됐어요",
               "다됐습니다", "이게다예요", "이게다에요", "그게다예요", "그게다에요", "이게다", "그게다", "이상입니다",
               "이상이에요", "이상이요", "주문끝", "주문완료", "다른건없어요", "다른건괜찮아요", "더없어요", "더는없어요",
               "됐습니다", "이렇게주세요", "이렇게할게요", "그렇게주세요", "그렇게할게요", "다시켰어요", "끝",
               "that's all", "thats all", "that is all", "that's it", "thats it", "that is it", "that'll be all",
               "that will be all", "that's everything", "nothing else", "i'm done", "im done", "done", "finished",
               "checkout", "check out", "ready to pay", "pay", "i'll pay", "pay now", "that's all for me",
               "就这些", "就这样", "结账", "买单", "好了", "够了", "没了", "点完了", "就要这些", "没有别的了", "付款", "支付"],
    SHOW: ["주문확인", "주문내역", "확인", "확인해", "확인해주세요", "주문한거", "뭐시켰", "지금까지", "장바구니", "내주문", "뭐주문했",
           "show my order", "show the order", "my order so far", "order summary", "read back", "repeat my order",
           "what's in my order", "whats in my order", "what is in my order", "what did i order", "what have i ordered",
           "what's my order", "what is my order", "看一下订单", "我的订单", "订单", "看看订单", "我点了什么", "我点了哪些", "点了什么"],
    MAYBE_QUESTION: ["?", "？"],
    ONLY: ["만", "only", "just"],
    PART: ["중에", "중에서", "중", "of the", "of them", "of those", "其中", "里面"],
    ALL: ["both", "all of them", "each", "every", "everything", "all", "둘다", "전부", "모두", "다들", "剩下", "剩下的",
          "都", "全部", "全都", "每"],
    GENERIC: ["burger", "burgers", "drink", "drinks", "soda", "sodas", "beverage", "beverages", "sandwich", "side", "sides",
              "버거", "햄버거", "음료", "음료수", "탄산", "탄산음료", "사이드", "汉堡", "饮料", "饮品", "汽水", "汉堡包", "小吃"],
    QUESTION: ["뭐", "뭐가", "추천", "어떤", "어떻게", "얼마", "얼마예요", "얼마에요", "있어요", "있나요",
               "있어", "있나", "되나요", "돼요", "가능", "가능해요", "인가요", "나요", "까요", "무슨", "어디", "언제", "왜",
               "혹시", "뭔가요", "뭐예요", "메뉴", "알려", "궁금", "맛있",
               "what", "what's", "whats", "which", "how", "why", "recommend", "suggest", "popular",
               "do you", "is there", "are there", "does", "is it", "is the", "is this", "is that", "are the", "are they",
               "are these", "does the", "does it", "can you tell", "menu", "tell me", "when", "where",
               "吗", "什么", "推荐", "多少", "哪", "有没有", "怎么", "为什么", "几", "呢", "么", "菜单", "好吃"],
    DEMO: ["그거", "이거", "저거", "그것", "그건", "이건", "저건", "그것도", "방금거", "마지막거", "that", "it", "this", "that one", "the last one",
           "those", "them", "这个", "那个", "刚才那个", "它"],
}

DINE_PHRASES: dict[str, list[str]] = {
    "takeout": ["포장", "포장이요", "포장할게요", "포장해주세요", "가져갈게요", "가지고갈게요", "들고갈게요", "테이크아웃",
                "싸주세요", "포장으로", "가져갈께요", "갖고갈게요",
                "to go", "takeout", "take-out", "take away", "takeaway", "take it to go", "for takeout", "to-go",
                "打包", "带走", "外带", "打包带走"],
    "dine_in": ["먹고갈게요", "먹고가요", "먹고갈께요", "여기서먹을게요", "여기서먹고갈게요", "매장", "매장에서", "매장식사",
                "매장이요", "여기서요", "여기서", "먹고갈거예요", "먹고갈게", "드시고", "매장에서먹을게요",
                "for here", "eat in", "dine in", "dine-in", "eat here", "eating here", "here",
                "堂食", "在这吃", "在这里吃", "这里吃", "店里吃", "在店里吃", "在这儿吃"],
}

PAY_PHRASES: dict[str, list[str]] = {
    "card": ["카드", "카드로", "신용카드", "체크카드", "카드결제", "card", "credit card", "debit card", "by card",
             "credit", "visa", "刷卡", "用卡", "银行卡", "信用卡", "卡"],
    "cash": ["현금", "현금으로", "현찰", "cash", "in cash", "现金", "付现", "现金支付"],
    "mobile": ["삼성페이", "애플페이", "카카오페이", "네이버페이", "페이", "모바일", "휴대폰결제", "폰으로", "큐알", "qr",
               "mobile", "apple pay", "samsung pay", "google pay", "phone", "mobile pay", "kakao pay",
               "微信", "微信支付", "支付宝", "手机支付", "扫码", "手机"],
}

FILLERS: list[str] = [
    # ko
    "주세요", "줘", "줘요", "주시고", "주실래요", "주세여", "주실수", "요", "이요", "예요", "에요", "할게요", "할께요", "하고요",
    "좀", "도", "는", "은", "을", "를", "이", "가", "의", "에", "저", "저기", "저기요", "음", "어", "네", "예", "아", "응",
    "그럼", "그냥", "일단", "우선", "먼저", "그", "것", "거", "걸", "걸로", "거로", "것도", "개", "잔", "병", "주문",
    "주문할게요", "시킬게요", "주문이요", "해주세요", "해줘", "해줘요", "해", "할게", "부탁해요", "부탁드려요", "부탁합니다",
    "원해요", "싶어요", "먹을래요", "먹고싶어요", "씩", "사이즈", "아니", "아니요", "아뇨", "맞아요", "근데", "그리고요",
    "고", "해요", "줄래요", "시킬께요", "할래요", "드릴게요", "같이", "하나씩", "다", "안녕하세요", "감사합니다", "있잖아",
    "받을게요", "주시겠어요", "먹을게요", "이랑요", "넣어", "넣어서", "넣어주세요", "으로요", "로요",
    "잔은", "개는", "다요", "거요", "것으로", "로할게요", "으로할게요", "해주시고", "되게",
    "하겠습니다", "할께", "낼게요", "낼께요", "낼게", "줘봐", "주라", "얼음", "단품", "따로",
    # en
    "i", "i'd", "i'll", "i'm", "id", "ill", "like", "want", "would", "could", "can", "get", "have", "give", "me",
    "please", "pls", "plz", "the", "some", "of", "for", "to", "too", "um", "uh", "umm", "hi", "hello", "hey", "ok",
    "okay", "yes", "yeah", "yep", "sure", "thanks", "thank", "you", "order", "we", "us", "need", "let",
    "let's", "gonna", "wanna", "x", "be", "will", "ones", "size", "let me", "i'll have", "also",
    "we'll", "we'd", "take", "go", "with", "my", "our", "oh", "well", "so", "actually", "sorry", "oops", "hmm", "wait",
     "now", "but", "alright", "great", "cool", "perfect",
    "is", "are", "am", "do", "cup", "cups", "bottle", "bottles", "order of", "orders of", "piece", "pieces", "serving",
    "servings", "glass", "can", "cans", "portion", "please", "that'd", "sir",
    "in", "on", "as", "at", "by", "them all",
    # zh
    "我", "我要", "要", "给我", "来", "请", "吧", "的", "了", "啊", "呀", "哦", "嗯", "就", "也", "一下", "帮我",
    "点", "想要", "想", "好的", "谢谢", "麻烦", "你好", "那", "这样", "可以", "个", "杯", "份", "瓶", "是", "先", "还是",
    "我们", "一共", "能", "给", "拿", "对", "不", "是的", "对的", "好", "行", "喝", "吃", "下", "上", "点餐", "您好",
    "谢", "我想", "我想要", "我们要", "麻烦你", "成", "其中", "有", "这", "杯子", "各", "一起", "就好了", "就好",
]

WEAK_REMOVE = ["no", "not", "without"]

# Words that end a sentence's meaning only as part of another phrase; never counted as unknown content.
LATIN_STOP = {"a", "an", "the", "and", "of", "please", "x"}
