"""A scripted citizen for the emulator: answers what the bot asks, the way a person would,
by tapping the quick reply that fits or typing the answer the question asks for.

Reading the question instead of replaying a fixed script keeps the browser test about what a
person sees (quick replies and prompts), not about the signup dialog's internal step names."""
from __future__ import annotations

# Quick replies a person signing up as an individual with cash payouts would tap, best first.
# A label matches an entry when it starts with it ("네" matches "네, 본인 명의예요").
PREFERRED_TAPS = (
    "만 14세 이상 개인", "모두 동의", "동의해요", "개별납부", "직접 납부", "현금", "네", "맞아요",
    "계속하기", "이어서 하기", "건너뛰기", "다음에 할게요", "없음", "가입 완료", "가입하기",
)
NEVER_TAP = ("취소", "처음으로", "동의하지 않음", "만 14세 미만", "단지 단위 참여", "관리비 합산", "사용 안 함")

# What to type when a question mentions one of these words (first match wins).
ANSWERS = (
    (("주민등록",), None),
    (("전기", "고객번호"), "0412345678"),
    (("수도", "고객번호"), "778812345"),
    (("가스", "고객번호"), "5512340987"),
    (("주소",), "경기도 수원시 영통구 광교호수로 152 101동 1203호"),
    (("동", "호"), "101동 1203호"),
    (("상세",), "101동 1203호"),
    (("휴대",), "010-2841-5521"),
    (("전화",), "010-2841-5521"),
    (("은행",), "카카오뱅크"),
    (("예금주",), "홍길동"),
    (("계좌",), "3333-01-2345678"),
    (("이메일",), "hong@example.org"),
    (("이름",), "홍길동"),
    (("성함",), "홍길동"),
)


def question_of(prompt: str) -> str:
    """The question: the last line of the bot's message (explanations and examples come first)."""
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("(", "예:", "•", "-"))] or lines
    return lines[-1] if lines else ""


def next_action(prompt: str, quick_replies: list[str], tapped: dict[str, int]) -> tuple[str, str]:
    """("tap", label) or ("say", text) for the bot's last message."""
    question = question_of(prompt)
    for wanted in PREFERRED_TAPS:
        for label in quick_replies:
            if label.startswith(wanted) and tapped.get(label, 0) < 3:
                return "tap", label
    for words, answer in ANSWERS:
        if answer and all(w in question for w in words):
            return "say", answer
    usable = [q for q in quick_replies if q not in NEVER_TAP and tapped.get(q, 0) < 2]
    if usable:
        return "tap", usable[0]
    raise AssertionError(f"the scripted citizen does not know what to answer to: {prompt[-200:]!r} {quick_replies}")
