"""The intake's procedure search: the catalogue's matches, best first for this desk.

``services/catalogue.find_procedures`` filters (every typed word inside the name or code,
versions in force); ``domain/procedure_search.rank`` orders by how well the name matches, then
by how often this desk received the procedure (``store/worklist.procedure_usage``).
"""

from __future__ import annotations

from onestop.domain.procedure_search import rank
from onestop.services import catalogue
from onestop.services.catalogue import ProcedureInfo
from onestop.services.desk import Desk
from onestop.store.worklist import procedure_usage

# Every match is ranked before the list is cut: a commune's catalogue has a few hundred
# procedures in force, and ranking them is far below a millisecond.
_ALL = 100_000


def find_procedures(desk: Desk, query: str, *, limit: int = 20) -> list[ProcedureInfo]:
    with desk.store.read() as db:
        found = catalogue.find_procedures(db=db, query=query, day=desk.clock().date(), limit=_ALL)
        usage = procedure_usage(db)
    return rank(query, found, name=lambda p: p.name, code=lambda p: p.code, usage=usage)[:limit]


__all__ = ["find_procedures"]
