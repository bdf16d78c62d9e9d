"""What part of the state a dashboard user may see: everything, one district, or one block.

Enforced where the data is read: every dashboard query takes a Scope and adds its condition on
the school, so a block user's pages and exports hold only their block's schools whatever URL
they type. Names match without regard to case or surrounding spaces, as the roster's do. A
block user named by block alone sees that block in the one district that has it (Scope.pinned),
never a block of the same name elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, select, true
from sqlalchemy.orm import Session

from storage.models import School

ROLES = ("state", "district", "block")


def district_key(column: Any = None) -> Any:
    """A school's district as scopes compare it: lower-cased, trimmed."""
    return func.lower(func.trim(School.district if column is None else column))


def block_key(column: Any = None) -> Any:
    return func.lower(func.trim(School.block if column is None else column))


def normal(name: str | None) -> str:
    return (name or "").strip().lower()


class ScopeError(ValueError):
    """A role and scope that do not fit together (a block user with no block, say)."""


@dataclass(frozen=True)
class Scope:
    district: str | None = None  # lower-cased; None: every district
    block: str | None = None  # lower-cased; None: every block of the district(s)
    nothing: bool = False  # a narrowing outside the scope, or a block not placed: no school

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def of(cls, role: str, scope: str | None) -> Scope:
        """The scope of a dashboard user: `state`, `district NAME`, `block NAME` or
        `block DISTRICT/NAME` (when the block's name repeats across districts)."""
        text = (scope or "").strip()
        if role == "state":
            if text:
                raise ScopeError("a state user sees the whole state; leave out --scope")
            return cls()
        if role not in ROLES:
            raise ScopeError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not text:
            raise ScopeError(f"a {role} user needs --scope naming their {role}")
        if role == "district":
            return cls(district=normal(text))
        district, _, block = text.rpartition("/")
        return cls(district=normal(district) or None, block=normal(block))

    def pinned(self, session: Session) -> tuple[Scope, str | None]:
        """This scope with a block named alone (`--scope Wai`) pinned to its district, and
        what is wrong with it, if anything.

        A block name alone is meant for one block office: matched by name it would also show
        a block of the same name in another district. Pinned when the roster has the block in
        one district; when in several, the scope is nothing and the problem says what to do."""
        if self.block is None or self.district is not None or self.nothing:
            return self, None
        districts = block_districts(session, self.block)
        if len(districts) == 1:
            return Scope(normal(districts[0]), self.block), None
        if not districts:
            return _NOTHING, None  # no such block (yet): no school, and no one else's officers
        return _NOTHING, (f"The block {self.block!r} is in more than one district "
                          f"({', '.join(districts)}): ask the operator to set your scope "
                          f"as DISTRICT/BLOCK with `kadam user add`.")

    @property
    def is_everything(self) -> bool:
        return self.district is None and self.block is None and not self.nothing

    def condition(self) -> Any:
        """A WHERE condition on `school` (join it) that keeps only this scope's schools."""
        if self.nothing:
            return false()
        parts = []
        if self.district is not None:
            parts.append(district_key() == self.district)
        if self.block is not None:
            parts.append(block_key() == self.block)
        if not parts:
            return true()
        return parts[0] if len(parts) == 1 else parts[0] & parts[1]

    def holds(self, district: str | None, block: str | None) -> bool:
        """Whether a school in this district and block is inside the scope."""
        return not self.nothing and ((self.district is None or normal(district) == self.district)
                and (self.block is None or normal(block) == self.block))

    def narrowed(self, district: str | None = None, block: str | None = None) -> Scope:
        """This scope, further limited to a district and/or block picked on a page.

        Narrowing never widens: a block user asking for another block gets an empty scope
        (a condition nothing matches), not that block."""
        if self.nothing:
            return self  # nothing narrowed is still nothing, never the place asked for
        scope = self
        if district:
            if self.district is not None and normal(district) != self.district:
                return _NOTHING
            scope = Scope(normal(district), scope.block)
        if block:
            if self.block is not None and normal(block) != self.block:
                return _NOTHING
            scope = Scope(scope.district, normal(block))
        return scope


_NOTHING = Scope(nothing=True)


def schools_in(session: Session, scope: Scope) -> int:
    """How many schools of the roster the scope covers."""
    return session.scalar(select(func.count()).select_from(School)
                          .where(scope.condition())) or 0


def block_districts(session: Session, block: str) -> list[str]:
    """The districts (as the roster spells them) that have a block of this name."""
    rows = session.scalars(
        select(func.min(func.trim(School.district))).where(block_key() == normal(block))
        .group_by(district_key()).order_by(district_key())
    ).all()
    return [row for row in rows if row is not None]
