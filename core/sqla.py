"""Typed access to what SQLAlchemy's annotations leave loose.

- :func:`table_of`: SQLAlchemy types ``Model.__table__`` as ``FromClause`` (a model may map a
  join or a select); every model of this project maps a plain ``Table``, which is what bulk
  writes and ``insert()`` / ``update()`` / ``delete()`` need.
- :func:`rowcount`: ``Session.execute`` and ``Connection.execute`` are typed as returning a
  ``Result``; for an INSERT, UPDATE or DELETE they return a ``CursorResult``, which has the
  number of rows matched.
"""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table
from sqlalchemy.engine import Result
from sqlalchemy.orm import DeclarativeBase


def table_of(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a plain Table")
    return table


def rowcount(result: Result[Any]) -> int:
    """Rows matched by the DML statement that gave ``result``."""
    return cast("CursorResult[Any]", result).rowcount
