"""The utility companies that bill supply points (core/data/utility_companies.toml).

A supply point is keyed by ``(resource, company, supply_key_hash)``: the same customer number at
two city-gas companies is two supply points, with their own readings and their own member.
``company`` is a company code of this list; ``""`` (NO_COMPANY) is a supply point whose company is
not known: a complex unit's key (billed in the management fee, the unit key is unique by itself)
or readings of a number nobody has registered, imported without a ``company`` column for a
resource several companies supply. A member registering that number adopts them
(core.members.adopt_unassigned_readings).

Regions: the companies serving a member are looked up by their 시·군·구 code (see the data file's
header for the order), so the mechanism is data-driven; the data says which mappings are exact.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "utility_companies.toml"
NO_COMPANY = ""
EVERYWHERE = "*"


@dataclass(frozen=True)
class Company:
    resource: str
    code: str
    name: str
    regions: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other names an import file may give (e.g. 한전)


@lru_cache(maxsize=1)
def _data() -> dict:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shipped_companies() -> dict[str, tuple[Company, ...]]:
    """resource -> its companies in the data's order."""
    from core.sigungu import shipped_sigungu  # core.sigungu imports core.members, which imports us

    data = _data()
    out: dict[str, tuple[Company, ...]] = {}
    for resource, spec in data.items():
        if resource == "names":
            continue
        companies = [Company(resource, c["code"], c["name"], tuple(c["regions"]), tuple(c.get("aliases", ())))
                     for c in spec.get("companies", [])]
        if spec.get("generated_from") == "sigungu.csv":
            prefix, suffix = spec["code_prefix"], spec["name_suffix"]
            companies += [Company(resource, f"{prefix}{s.code}", f"{s.name} {suffix}", (s.code,))
                          for s in shipped_sigungu() if s.runs_programme]
        codes = [c.code for c in companies]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{DATA_FILE.name}: a {resource} company code is repeated")
        out[resource] = tuple(companies)
    return out


def companies_for(resource: str) -> tuple[Company, ...]:
    return shipped_companies().get(resource, ())


@lru_cache(maxsize=16)
def _index(resource: str) -> tuple[dict[str, list[Company]], dict[str, Company]]:
    by_region: dict[str, list[Company]] = {}
    by_word: dict[str, Company] = {}
    short: dict[str, list[Company]] = {}
    suffixes = _data()["names"]["suffixes"]
    for c in companies_for(resource):
        for region in c.regions:
            by_region.setdefault(region, []).append(c)
        by_word[c.code.lower()] = c
        for name in (c.name, *c.aliases):
            by_word.setdefault(_word(name), c)
        name = _word(c.name)
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) > len(suffix):
                short.setdefault(name[:-len(suffix)], []).append(c)
                break
    for word, companies in short.items():  # a shortened name two companies share names neither
        if len(companies) == 1:
            by_word.setdefault(word, companies[0])
    return by_region, by_word


def _word(text: str) -> str:
    """A company as written, for lookup: no spaces, no marks of the company form, lower case."""
    for mark in _data()["names"]["marks"]:
        text = text.replace(mark, "")
    return text.replace(" ", "").lower()


def serving(resource: str, lg_code: str | None) -> list[Company]:
    """The companies supplying `resource` in a 시·군·구 (its code, or None when unknown: then
    only a company serving everywhere)."""
    from core.sigungu import programme_code

    by_region, _ = _index(resource)
    keys: list[str] = []
    if lg_code:
        keys = [lg_code]
        parent = programme_code(lg_code)
        if parent and parent != lg_code:
            keys.append(parent)
        keys.append(lg_code[:2])
    keys.append(EVERYWHERE)
    for key in keys:
        if key in by_region:
            return list(by_region[key])
    return []


@lru_cache(maxsize=4096)  # shipped data: a registry import asks once per row
def default_company(resource: str, lg_code: str | None) -> str:
    """The region's first company (NO_COMPANY when none is known)."""
    found = serving(resource, lg_code)
    return found[0].code if found else NO_COMPANY


def national_company(resource: str) -> str | None:
    """The one company supplying the resource everywhere (KEPCO for electricity), if any."""
    companies = companies_for(resource)
    return companies[0].code if len(companies) == 1 and EVERYWHERE in companies[0].regions else None


def company_of_cell(resource: str, cell: str) -> Company | None:
    """An import's `company` cell: a company code (any case), its name or an alias (spaces and
    the company form's marks ignored), or its name shortened (see the data file's header)."""
    _, by_word = _index(resource)
    return by_word.get(cell.lower()) or by_word.get(_word(cell))


def company_name(resource: str, code: str | None) -> str | None:
    if not code:
        return None
    _, by_word = _index(resource)
    found = by_word.get(code.lower())
    return found.name if found else code


__all__ = ["NO_COMPANY", "Company", "companies_for", "company_name", "company_of_cell", "default_company",
           "national_company", "serving", "shipped_companies"]
