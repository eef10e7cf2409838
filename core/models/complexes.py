"""Registered apartment complexes (단지): their addresses in both forms, their 동 and how each
resource is billed (in the management fee by a billing company, separately, or not at all)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class ApartmentComplex(Base):
    """One complex of `cpoint import-complexes`. `road_key` / `jibun_key` are the canonical base
    addresses without spaces (core.complexes.address_key), what a typed address is matched by.
    `resources`: {resource: {"mode": "managed" | "separate" | "none", "company": str | None}}."""

    __tablename__ = "apartment_complexes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    road_address: Mapped[str] = mapped_column(String(200))
    jibun_address: Mapped[str | None] = mapped_column(String(200))
    road_key: Mapped[str] = mapped_column(String(200), index=True)
    jibun_key: Mapped[str | None] = mapped_column(String(200), index=True)
    dongs: Mapped[list] = mapped_column(JSON, default=list)
    resources: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = ["ApartmentComplex"]
