"""Points: staff adjust a customer's points with an amount, a type and a reason; the balance never goes
below zero, and a customer who may not accrue points (inactive, merged) takes no adjustment."""

from __future__ import annotations

from crm_core.clock import utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.points import BalanceMoved, MayNotAccrue, PointsRepository
from crm_core.errors import Invalid, MayNotAccruePoints, NotFound, RetryLater, field_error
from crm_core.ids import new_id
from crm_core.models.customer import FieldChange, HistoryEntry
from crm_core.models.points import PointsAdjustment, PointsEntry, PointsPreview, PointsStatement
from crm_core.status import ACCRUES_POINTS


class PointsService:
    def __init__(self, customers: CustomerRepository, points: PointsRepository, cursors: CursorCodec,
) -> None:
        self._customers = customers
        self._points = points
        self._cursors = cursors

    def statement(self, customer_id: str, limit: int | None, cursor: str | None) -> PointsStatement:
        size = limit or 25
        if self._customers.get(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")
        scope = self._cursors.scope_of("points", customer_id)
        after = self._cursors.decode(cursor, scope) if cursor else None
        balance, _ = self._points.balance(customer_id)
        entries, last = self._points.entries(customer_id, size, after)
        return PointsStatement(balance=balance, entries=entries,
                               next_cursor=self._cursors.encode(scope, last) if last else None)

    def preview(self, customer_id: str, adjustment: PointsAdjustment) -> PointsPreview:
        """The balance the adjustment would leave, refused for the reasons ``adjust`` would refuse it."""
        balance, _ = self._checked(customer_id, adjustment)
        return PointsPreview(balance=balance, amount=adjustment.amount, balance_after=balance + adjustment.amount)

    def _checked(self, customer_id: str, adjustment: PointsAdjustment) -> tuple[int, int]:
        """The balance and its version, if the customer may take the adjustment now."""
        customer = self._customers.get(customer_id, consistent=True)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        if customer.status not in ACCRUES_POINTS:
            raise _may_not_accrue(customer.status, customer.inactive_reason)
        balance, version = self._points.balance(customer_id)
        if balance + adjustment.amount < 0:
            raise Invalid(f"the balance is {balance}; removing {-adjustment.amount} would make it negative",
                          fields=[field_error("amount", f"would take the balance below zero ({balance})")],
                          balance=balance)
        return balance, version

    def adjust(self, customer_id: str, adjustment: PointsAdjustment, actor: str, attempts: int = 3) -> PointsEntry:
        for _ in range(attempts):
            balance, version = self._checked(customer_id, adjustment)
            now = utcnow()
            entry = PointsEntry(id=new_id(), amount=adjustment.amount, type=adjustment.type,
                                reason=adjustment.reason, balance_after=balance + adjustment.amount, at=now, by=actor)
            history = HistoryEntry(at=now, by=actor, action="points_adjusted", changes=[
                FieldChange(field="points.balance", old=balance, new=entry.balance_after),
                FieldChange(field=f"points.{entry.id}", new=adjustment.model_dump())])
            try:
                self._points.adjust(customer_id, entry, version, ACCRUES_POINTS, history)
            except BalanceMoved:
                continue
            except MayNotAccrue:
                current = self._customers.get(customer_id, consistent=True)
                if current is None:
                    raise NotFound(f"customer {customer_id} does not exist") from None
                raise _may_not_accrue(current.status, current.inactive_reason) from None
            return entry
        raise RetryLater("the points are being changed by others; retry shortly")


def _may_not_accrue(status: str, reason: str | None) -> MayNotAccruePoints:
    why = f"{status} ({reason})" if reason else status
    return MayNotAccruePoints(f"the customer is {why} and may not accrue points")
