"""Linking a KakaoTalk account to a member who joined elsewhere (issue 15).

Members imported from the programme's registry (core.member_import) have no KakaoTalk account.
In the chat they prove who they are with what a member knows: the member number, or (without
it) the address; with either, the name and the mobile number on file. On success the chat user's
keys are written on the member, so balance, my info and pushes work from the next turn.

Enumeration is what this module guards against:

- a failed attempt never says which field was wrong;
- attempts are limited per chat user and per member (a fixed window of a day in the shared
  ``auth_counters`` table, so every process sees the same count): ``limit`` failures and the
  chat user (or the member, whoever tries it) gets only the call centre until the window ends;
- a member already linked to another KakaoTalk account is named only after a full, correct
  proof, with the way forward (unlink in my info there, or the call centre).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from core.clock import Clock, utcnow_naive
from core.crypto import FieldCipher
from core.local_governments import ParsedAddress
from core.members import InvalidValue, NotAMember, household_hash, member_for_user, normalise_mobile
from core.models import Member

LINK_WINDOW = 24 * 3600

LINKED = "linked"
NO_MATCH = "no_match"
LIMITED = "limited"
LINKED_ELSEWHERE = "linked_elsewhere"
ALREADY_MEMBER = "already_member"


@dataclass(frozen=True)
class LinkProof:
    """What the citizen typed: the member number or the address, and the name and mobile."""

    name: str
    mobile: str
    member_no: str | None = None
    address: ParsedAddress | None = None


@dataclass(frozen=True)
class ChatIdentity:
    user_key: str
    app_user_id: str | None = None
    bot_id: str | None = None
    plusfriend_user_key: str | None = None
    is_friend: bool = True


@dataclass
class LinkResult:
    outcome: str
    member: Member | None = None
    attempts_left: int = 0


def _key(kind: str, value: str) -> str:
    return f"member_link:{kind}:" + hashlib.sha256(value.encode()).hexdigest()


def attempts_used(session: Session, clock: Clock, user_key: str) -> int:
    from core.operators import counter_value

    return counter_value(session, _key("user", user_key), LINK_WINDOW, utcnow_naive(clock))


def _same_name(typed: str, stored: str | None) -> bool:
    squash = lambda t: re.sub(r"\s+", "", t or "").casefold()  # noqa: E731
    return bool(stored) and squash(typed) == squash(stored)


def _same_mobile(typed: str, stored: str | None) -> bool:
    try:
        return stored is not None and normalise_mobile(typed) == normalise_mobile(stored)
    except InvalidValue:
        return False


def member_no_key(column):
    """The member number without hyphens, as the index ix_members_member_no_key has it (the
    literals are written out: an index on an expression is used only for the same text)."""
    return func.replace(column, literal_column("'-'"), literal_column("''"))


def typed_member_no(typed: str) -> str:
    """A typed member number in the index's form: NFKC, upper case, no spaces, hyphens or dots."""
    return re.sub(r"[\s\-.]", "", unicodedata.normalize("NFKC", typed)).upper()


_MEMBER_NO_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,4}[\s\-.]?\d{2,}(?:[\s\-.]?\d+)*(?![0-9])")


def member_no_in_text(typed: str) -> str | None:
    """The one member number of a sentence ("제 회원번호는 GG-2019-000123이에요", "회원번호
    GG2019000123") in the index's form, or None (none, or several)."""
    found = _MEMBER_NO_IN_TEXT.findall(unicodedata.normalize("NFKC", typed or ""))
    return typed_member_no(found[0]) if len(found) == 1 else None


def _candidate(session: Session, cipher: FieldCipher, proof: LinkProof) -> Member | None:
    if proof.member_no:
        return session.scalars(select(Member).where(member_no_key(Member.member_no) == typed_member_no(proof.member_no),
                                                    Member.status == "active")).first()
    if proof.address is not None:
        return session.scalars(select(Member).where(Member.household_hash == household_hash(cipher, proof.address),
                                                    Member.status == "active")).first()
    return None


def link_member(session: Session, cipher: FieldCipher, clock: Clock, chat: ChatIdentity, proof: LinkProof,
                limit: int, consent: dict | None = None) -> LinkResult:
    """Link the chat user to the member the proof names, in the caller's transaction. `consent`:
    what the citizen agreed to in the chat before linking, added to the member's consents."""
    from core.operators import count, counter_value

    now = utcnow_naive(clock)
    existing = member_for_user(session, chat.user_key, chat.app_user_id)
    if existing is not None:
        return LinkResult(ALREADY_MEMBER, existing)
    user_key = _key("user", chat.user_key)
    used = counter_value(session, user_key, LINK_WINDOW, now)
    if used >= limit:
        return LinkResult(LIMITED)
    member = _candidate(session, cipher, proof)
    member_key = _key("member", str(member.id)) if member is not None else None
    if member_key is not None and counter_value(session, member_key, LINK_WINDOW, now) >= limit:
        return LinkResult(LIMITED)
    if member is None or not (_same_name(proof.name, member.name) and _same_mobile(proof.mobile, member.mobile)):
        used = count(session, user_key, LINK_WINDOW, now)
        if member_key is not None:
            count(session, member_key, LINK_WINDOW, now)
        return LinkResult(NO_MATCH, attempts_left=max(0, limit - used))
    if member.bot_user_key and member.bot_user_key != chat.user_key:
        return LinkResult(LINKED_ELSEWHERE, member)
    member.bot_user_key, member.app_user_id = chat.user_key, chat.app_user_id
    member.bot_id, member.plusfriend_user_key = chat.bot_id, chat.plusfriend_user_key
    member.is_friend = chat.is_friend
    if consent:
        member.consents = {**(member.consents or {}), **consent}
    session.flush()
    return LinkResult(LINKED, member)


def can_unlink(member: Member | None) -> bool:
    """Only a member from the registry can be linked again later (its member number proves it)."""
    return member is not None and member.status == "active" and bool(member.member_no) and bool(member.bot_user_key)


def unlink_member(session: Session, member: Member | None) -> None:
    """Forget the member's KakaoTalk account (the member stays; another account can link)."""
    if member is None or not can_unlink(member):
        raise NotAMember()
    member.bot_user_key = member.app_user_id = member.bot_id = member.plusfriend_user_key = None
    session.flush()
