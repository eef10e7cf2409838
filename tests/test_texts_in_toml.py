"""Korean text lives in TOML (bot/texts, core/texts, core/data, webhooks/texts, bench/samples.toml),
never in string literals of .py files. Docstrings and comments may be Korean.

GRAMMAR lists the parsers whose remaining Hangul literals are grammar, not text: the regular
expressions of names, addresses (road/lot forms, 동·호·층), units (㎡, 평), dates (년 월 일, 상반기 하반기) and ages (살, 세, 년생, native numerals).
Words that vary (the 시·도 names, banks, answer words) are data in core/data and bot/texts. PROTOCOL lists the few literals that must stay in code
because they name something of Kakao's (a field label of Open Builder, symbols Kakao accepts).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SCANNED = ("bench", "bot", "core", "webhooks", "migrations", "scripts")

GRAMMAR = {
    "core/ages.py",
    "core/local_governments.py",
    "core/members.py",
    "core/points/periods.py",
}

PROTOCOL = {
    # Open Builder's field labels, quoted in setting descriptions (and the README's settings table)
    ("webhooks/config.py", "Shared secret Open Builder sends in the skill header (헤더값 입력). "
                           "Required while SKILL_SECRET_REQUIRED is on."),
    ("bot/push/settings.py", "이벤트 이름 of the monthly-result block in Open Builder."),
    ("bot/push/settings.py", "이벤트 이름 of the payout-notice block (notices and reminders)."),
    ("bot/push/settings.py", "이벤트 이름 of the campaign block."),
    # the currency symbols Kakao accepts in an itemCard's itemListSummary.description
    ("bot/kakao/limits.py", "원₩￦$€¥£"),
}


def hangul_literals(path: Path) -> list[tuple[int, str]]:
    """String constants (f-string parts included) containing Hangul that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and HANGUL.search(node.value)]


def python_files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def test_the_scan_finds_literals_but_not_docstrings(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""모듈 설명."""\n\ndef f(name):\n    """함수 설명."""\n'
                      '    # 주석\n    return f"{name}님" + "hello" + ("안녕" if name else "")\n', encoding="utf-8")
    assert sorted(v for _, v in hangul_literals(sample)) == ["님", "안녕"]


def test_no_hangul_string_literals_in_python_files():
    found = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in GRAMMAR:
            continue
        for line, value in hangul_literals(path):
            if (rel, value) not in PROTOCOL:
                found.append(f"{rel}:{line}: {value!r}")
    assert not found, ("Korean text belongs in TOML (bot/texts/<lang>, core/texts/<lang>, core/data, "
                       "webhooks/texts/<lang>), read through core.texts:\n" + "\n".join(found))


def test_protocol_exceptions_are_still_in_use():
    present = {(p.relative_to(ROOT).as_posix(), v) for p in python_files() for _, v in hangul_literals(p)}
    assert PROTOCOL <= present, f"remove these from PROTOCOL: {PROTOCOL - present}"
