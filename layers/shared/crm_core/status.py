"""The customer status state machine.

    enroll      active, inactive (un-enrolled)        → enrolled
    un-enroll   enrolled                              → inactive (un-enrolled); marketing email opt-in off
    deactivate  active, enrolled                      → inactive (deactivated, "on hold"); the status before
                                                        is kept so reactivation restores it
    reactivate  inactive (deactivated)                → the status it had before
    merged      no action: a merged record points at the customer it was merged into

The source documents allow "enroll" from merged; here a merged record stays merged, because enrolling it
would split one customer across two records again.
"""

from __future__ import annotations

from typing import Any, Literal

from crm_core.errors import CustomerMerged, TransitionRefused
from crm_core.models.customer import Customer, StatusOption

StatusAction = Literal["enroll", "unenroll", "deactivate", "reactivate"]
ACTIONS: tuple[StatusAction, ...] = ("enroll", "unenroll", "deactivate", "reactivate")
ACCRUES_POINTS = ("active", "enrolled")
MAY_SIGN_IN = ("active", "enrolled")


def refuse_merged(customer: Customer) -> Customer:
    """The one guard for every change: a merged customer takes none (``CustomerMerged``, naming where it went)."""
    if customer.status == "merged":
        raise CustomerMerged(f"customer {customer.customer_number} is merged into another customer and cannot be "
                             "changed", merged_into=customer.merged_into)
    return customer


def transition(customer: Customer, action: StatusAction) -> dict[str, Any]:
    """The profile updates ``action`` makes, or ``TransitionRefused`` saying why not."""
    status, reason = customer.status, customer.inactive_reason
    if status == "merged":
        raise TransitionRefused(f"customer {customer.customer_number} is merged into another customer; "
                                "change that customer instead")
    if reason == "deactivated" and action != "reactivate":
        raise TransitionRefused("the customer is deactivated (on hold): reactivate is the only action allowed")
    if action == "enroll":
        if status == "enrolled":
            raise TransitionRefused("the customer is already enrolled")
        return {"status": "enrolled", "inactive_reason": None}
    if action == "unenroll":
        if status != "enrolled":
            raise TransitionRefused(f"only an enrolled customer can be un-enrolled; this one is {status}")
        preferences = customer.email_preferences.model_copy(update={"marketing": False})
        return {"status": "inactive", "inactive_reason": "unenrolled", "email_preferences": preferences}
    if action == "deactivate":
        if status == "inactive":
            raise TransitionRefused("the customer is already inactive (un-enrolled); enroll them again instead")
        return {"status": "inactive", "inactive_reason": "deactivated", "status_before_deactivation": status}
    if reason != "deactivated":
        raise TransitionRefused(f"only a deactivated customer can be reactivated; this one is {status}")
    return {"status": customer.status_before_deactivation or "active", "inactive_reason": None,
            "status_before_deactivation": None}


def options(customer: Customer) -> list[StatusOption]:
    """Every action, whether the customer's state allows it, and if not why (the reason ``transition`` gives)."""
    found = []
    for action in ACTIONS:
        try:
            transition(customer, action)
        except TransitionRefused as refused:
            found.append(StatusOption(action=action, allowed=False, reason=refused.message))
        else:
            found.append(StatusOption(action=action, allowed=True))
    return found
