"""POST /customers/{id}/status and the email preferences: the state machine of the product spec."""

from __future__ import annotations

from typing import Any

import pytest

from integration.conftest import Call


@pytest.fixture
def customer(api: Call) -> dict[str, Any]:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "Lovelace",
                                             "email_preferences": {"marketing": True}})
    assert answer.status == 201
    return dict(answer.body)


def _act(api: Call, customer: dict[str, Any], action: str) -> Any:
    return api("POST", f"/customers/{customer['id']}/status", body={"action": action})


def test_enroll_then_unenroll_turns_marketing_email_off(api: Call, customer: dict[str, Any]) -> None:
    # Given an active customer who opted in to marketing
    assert customer["email_preferences"] == {"marketing": True, "account": True}
    # When they are enrolled, then un-enrolled
    assert _act(api, customer, "enroll").body["status"] == "enrolled"
    left = _act(api, customer, "unenroll")
    # Then they are inactive, marketing email is off, and history says so
    assert left.status == 200
    assert (left.body["status"], left.body["inactive_reason"]) == ("inactive", "unenrolled")
    assert left.body["email_preferences"]["marketing"] is False
    entry = api("GET", f"/customers/{customer['id']}/history").body["items"][0]
    assert entry["action"] == "status_unenroll"
    assert {"field": "email_preferences.marketing", "old": True, "new": False} in entry["changes"]
    # And they can enroll again
    assert _act(api, customer, "enroll").body["status"] == "enrolled"


def test_deactivated_allows_only_reactivate_which_restores_the_status(api: Call, customer: dict[str, Any]) -> None:
    _act(api, customer, "enroll")
    held = _act(api, customer, "deactivate")
    assert (held.body["status"], held.body["inactive_reason"]) == ("inactive", "deactivated")
    for action in ("enroll", "unenroll", "deactivate"):
        refused = _act(api, customer, action)
        assert refused.status == 409
        assert refused.body["error"]["code"] == "transition_refused"
        assert "reactivate is the only action" in refused.body["error"]["message"]
    back = _act(api, customer, "reactivate")
    assert (back.body["status"], back.body["inactive_reason"]) == ("enrolled", None)


@pytest.mark.parametrize(("actions", "refused", "reason"), [
    ([], "unenroll", "only an enrolled customer can be un-enrolled"),
    ([], "reactivate", "only a deactivated customer can be reactivated"),
    (["enroll"], "enroll", "already enrolled"),
    (["enroll", "unenroll"], "deactivate", "already inactive"),
])
def test_other_transitions_are_refused_with_the_reason(api: Call, customer: dict[str, Any], actions: list[str],
                                                       refused: str, reason: str) -> None:
    for action in actions:
        assert _act(api, customer, action).status == 200
    answer = _act(api, customer, refused)
    assert answer.status == 409
    assert reason in answer.body["error"]["message"]


def test_an_unknown_action_is_named(api: Call, customer: dict[str, Any]) -> None:
    answer = _act(api, customer, "promote")
    assert answer.status == 422 and answer.body["error"]["fields"][0]["field"] == "action"


def test_a_status_change_bumps_the_version_so_stale_edits_fail(api: Call, customer: dict[str, Any]) -> None:
    assert _act(api, customer, "enroll").body["version"] == 2
    stale = api("PATCH", f"/customers/{customer['id']}", body={"version": 1, "phone": "01632 960000"})
    assert stale.status == 409


def test_email_preferences_are_set_per_category(api: Call, customer: dict[str, Any]) -> None:
    path = f"/customers/{customer['id']}/email-preferences"
    assert api("PUT", path, body={"account": False}).body == {"marketing": True, "account": False}
    assert api("GET", path).body == {"marketing": True, "account": False}
    assert api("PUT", path, body={"sms": True}).status == 422
    entry = api("GET", f"/customers/{customer['id']}/history").body["items"][0]
    assert entry["changes"] == [{"field": "email_preferences.account", "old": True, "new": False}]


def _options(api: Call, customer: dict[str, Any]) -> dict[str, Any]:
    answer = api("GET", f"/customers/{customer['id']}/status")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def test_the_status_options_allow_what_the_state_machine_allows_and_say_why_not(api: Call,
                                                                                customer: dict[str, Any]) -> None:
    # Given an active customer: enroll and deactivate are allowed, the others refused with the reason
    options = _options(api, customer)
    assert (options["status"], options["inactive_reason"], options["version"]) == ("active", None, 1)
    allowed = {o["action"]: o["allowed"] for o in options["actions"]}
    assert allowed == {"enroll": True, "unenroll": False, "deactivate": True, "reactivate": False}
    reasons = {o["action"]: o["reason"] for o in options["actions"]}
    assert reasons["unenroll"] == "only an enrolled customer can be un-enrolled; this one is active"
    assert reasons["enroll"] is None
    # When the customer is deactivated, only reactivate is allowed, and each refusal is what POST answers
    _act(api, customer, "deactivate")
    held = _options(api, customer)
    assert [o["action"] for o in held["actions"] if o["allowed"]] == ["reactivate"]
    for option in held["actions"]:
        if not option["allowed"]:
            assert _act(api, customer, option["action"]).body["error"]["message"] == option["reason"]


def test_the_status_options_of_a_missing_customer_are_404(api: Call) -> None:
    assert api("GET", "/customers/01HZZZZZZZZZZZZZZZZZZZZZZZ/status").status == 404
