"""Which dialog steps take personal data: the "turn handled" log line keeps nothing of an
utterance typed (or tapped) while one of these steps is the active one (bot.app.BotApp.respond).

Every step of every step dialog is declared here, personal or not; a test fails on a step
that is in neither set (a new step must be classified), and a step the log meets that is not
declared counts as personal."""
from __future__ import annotations

# The steps that ask for a name, mobile, address, unit, customer number, bank, account,
# holder, e-mail, dates or free text about the person, and those an age may be typed at (a
# birth date is personal data): green-life's age and the signup's member type; the payout
# choices, which take a bank and account typed in one message; the billing modes, which take a
# customer number typed instead of the mode; the householder question, answered with the head's
# name as often as with a tap ('아버지 김철수예요'); and the signup's review, where a field named to
# change ('주소 잘못 썼어요') may come with its new value.
PERSONAL_STEPS: dict[str, frozenset[str]] = {
    "signup": frozenset({
        "member_type", "incentive_type", "name", "mobile", "householder", "householder_name", "address", "address_detail", "address_sigungu", "complex_dong", "complex_ho",
        "customer_number", "bank",
        "account_number", "account_holder", "motivation", "floor_area", "move_in_date", "email", "referrer",
        "billing_mode", "confirm",
    }),
    "myinfo": frozenset({
        "incentive_type", "mobile", "address", "address_detail", "address_sigungu", "member_sigungu", "complex_dong", "complex_ho", "customer_number", "bank",
        "account_number", "account_holder", "email", "billing_mode", "householder", "householder_name",
    }),
    "greenlife": frozenset({"age", "payout", "name", "mobile", "region", "region_sigungu", "bank", "account_number", "account_holder"}),
    "link": frozenset({"member_no", "name", "mobile", "address"}),
}

# Closed questions answered with a tap (or the same words typed): menus of the programme's
# own words.
OTHER_STEPS: dict[str, frozenset[str]] = {
    "signup": frozenset({
        "terms", "utility_company", "optional", "edit", "marketing",
    }),
    "myinfo": frozenset({"utility_company", "account_company", "pick_resource",
                       "move_confirm", "leave_confirm", "withdraw_confirm"}),
    "greenlife": frozenset(),
    "link": frozenset({"consent", "unlink_confirm"}),
}


def is_personal(dialog: str | None, step: str | None) -> bool:
    """True when an answer at this step may hold personal data (unknown steps included)."""
    if dialog is None:
        return False
    return step not in OTHER_STEPS.get(dialog, ())
