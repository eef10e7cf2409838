"""The Core table of a declarative model, typed as such.

SQLAlchemy types ``Model.__table__`` as ``FromClause`` (a model may map a join or a select);
every model of this project maps a plain ``Table``, which is what bulk writes and
``insert()`` / ``update()`` / ``delete()`` need.
"""
from __future__ import annotations

from sqlalchemy import Table

from core.db import Base


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a plain Table")
    return table
