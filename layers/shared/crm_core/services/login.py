"""Web login and password reset (after the OWASP password-storage and forgot-password cheat sheets).

- Passwords are stored only as Argon2id hashes (``crm_core.passwords``); a temporary one set by staff must be
  changed at the next login.
- ``POST /public/login`` gives the same answer for an unknown username and a wrong password, and takes the
  same time (an unknown user is checked against a dummy hash). It is rate-limited per username and per
  address. Only active and enrolled customers may sign in.
- A reset request — from the public form (username or email) or from staff — is only *queued* on the API
  path: the answer, and the time it takes, cannot depend on whether the account exists. The mailer looks
  the account up, makes a single-use token (32 random bytes; only its SHA-256 is stored; it expires) and
  sends the link. The token is never logged. ``confirm`` sets the new password and spends the token in one
  transaction, so it works once even when two requests race.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.mail import MailRepository, TokenSpent
from crm_core.dal.queues import Queue
from crm_core.dal.ratelimit import RateLimiter, subject_digest
from crm_core.errors import (
    ConfigurationError,
    Conflict,
    Invalid,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    PasswordChangeRequired,
    SignInRefused,
    TooManyAttempts,
    field_error,
)
from crm_core.models.customer import Customer
from crm_core.models.mail import LoginAnswer, LoginPut, LoginRequest, ResetConfirm, ResetRequest, TemporaryPassword
from crm_core.models.messages import SendPasswordReset
from crm_core.passwords import (
    check_new_password,
    hash_password,
    new_token,
    random_password,
    token_hash,
    verify_password,
    verify_unknown,
)
from crm_core.services.customers import CustomerService
from crm_core.text import normalise_email

MAY_SIGN_IN = ("active", "enrolled")
PAIR_LIMIT = (5, 15 * 60)  # failed attempts per username from one address per 15 minutes
USERNAME_CEILING = (30, 15 * 60)  # failed attempts per username from anywhere: past it, only trusted addresses
ADDRESS_LIMIT = (30, 15 * 60)  # attempts per caller address per 15 minutes
RESET_LIMIT = (3, 60 * 60)  # reset emails per account per hour, however they are asked for
RESET_ADDRESS_LIMIT = (20, 60 * 60)  # reset requests per caller address per hour
RESET_ANSWER = "If an account matches, an email with a link to reset the password is on its way."


class LoginService:
    def __init__(self, customers: CustomerRepository, customer_service: CustomerService, mail: MailRepository,
                 limiter: RateLimiter, mail_queue: Queue | None) -> None:
        self._customers = customers
        self._service = customer_service
        self._mail = mail
        self._limiter = limiter
        self._mail_queue = mail_queue

    # ---- staff -------------------------------------------------------------------------------------

    def set_login(self, customer_id: str, request: LoginPut, actor: str) -> dict[str, Any]:
        customer = self._customer(customer_id)
        if request.username and customer.username and request.username != customer.username:
            raise Invalid("the username cannot change once saved",
                          fields=[field_error("username", f"is {customer.username!r} and cannot change")])
        username = request.username or customer.username
        if not username:
            raise Invalid("a web login needs a username", fields=[field_error("username", "is required")])
        problems = check_new_password(request.password, username, customer.email)
        if problems:
            raise Invalid("the password is not strong enough",
                          fields=[field_error("password", p) for p in problems])
        if not customer.username:
            customer = self._service.change(customer, {"username": username}, actor, refuse_duplicates=False)
        self._mail.set_password(customer.id, hash_password(request.password), False, actor, rebind=True,
                                recovery=customer.email)
        return {"customer_id": customer.id, "username": username, "must_change_password": False}

    def random_password(self, customer_id: str, actor: str) -> TemporaryPassword:
        customer = self._customer(customer_id)
        if not customer.username:
            raise Conflict("the customer has no username yet: set a login first",
                           fields=[field_error("username", "is not set")])
        password = random_password()
        self._mail.set_password(customer.id, hash_password(password), True, actor, rebind=True,
                                recovery=customer.email)
        return TemporaryPassword(username=customer.username, temporary_password=password, must_change_password=True)

    def staff_reset(self, customer_id: str, actor: str) -> dict[str, Any]:
        customer = self._customer(customer_id)
        login = self._mail.login(customer.id)
        if login is None:
            raise Conflict("the customer has no web login: set one first (PUT …/login)")
        to = self.recovery_address(customer, login)
        if not to:
            raise Conflict("the web login has no address for reset links; an admin setting a password gives it the "
                           "customer's email", fields=[field_error("email", "is not the login's")])
        if self._limiter.remaining("reset-account", customer.id, *RESET_LIMIT) <= 0:
            raise self._too_many(RESET_LIMIT)
        self._queue(SendPasswordReset(customer_id=customer.id, asked_by=actor))
        return {"queued": True, "to": to}

    def recovery_address(self, customer: Customer, login: dict[str, Any]) -> str | None:
        """Where the login's reset links go: the customer's email when an admin last set a password for it —
        not the email as it is now, which staff may edit. (A login kept before recovery addresses were is bound to
        the email the customer had when its password was last set, read from the history.)"""
        if login.get("email"):
            return str(login["email"])
        changed, then = self._mail.email_when_set(customer.id, login.get("set_at"))
        return then if changed else customer.email

    # ---- public --------------------------------------------------------------------------------------

    def sign_in(self, request: LoginRequest, address: str) -> LoginAnswer:
        """Every attempt counts against the caller's address; a failure against the username from that address
        (5 locks that address out of that account for the window) and against the username from anywhere (past
        30, only addresses the customer signed in from before may still try). So nobody can lock a customer
        out by knowing their username, and guessing is slow from anywhere."""
        username = request.username.lower()
        pair = f"{username}\n{address}"
        trusted = (subject_digest(username), subject_digest(address))
        if not self._limiter.hit("login-address", address, *ADDRESS_LIMIT):
            raise self._too_many(ADDRESS_LIMIT)
        if self._limiter.remaining("login-pair", pair, *PAIR_LIMIT) <= 0:
            raise self._too_many(PAIR_LIMIT)
        if self._limiter.remaining("login", username, *USERNAME_CEILING) <= 0 and not self._mail.trusted(*trusted):
            raise self._too_many(USERNAME_CEILING)
        owner = self._customers.claim_owner("username", username)
        customer = self._customers.get(owner) if owner else None
        login = self._mail.login(customer.id) if customer else None
        if customer is None or login is None or not verify_password(str(login["password_hash"]), request.password):
            if customer is None or login is None:
                verify_unknown(request.password)  # the same time as a wrong password
            self._limiter.hit("login-pair", pair, *PAIR_LIMIT)
            self._limiter.hit("login", username, *USERNAME_CEILING)
            raise InvalidCredentials("the username or password is not right")
        if customer.status not in MAY_SIGN_IN:
            raise SignInRefused("this account cannot sign in; please contact us")
        if login.get("must_change"):
            if not request.new_password:
                raise PasswordChangeRequired("the password is temporary: send new_password to set your own",
                                             must_change_password=True)
            self._check(request.new_password, customer, "new_password")
            self._mail.set_password(customer.id, hash_password(request.new_password), False, "the customer")
        self._mail.trust(*trusted)
        return LoginAnswer(customer_id=customer.id, customer_number=customer.customer_number,
                           name=customer.display_name)

    def _too_many(self, limit: tuple[int, int]) -> TooManyAttempts:
        wait = self._limiter.retry_after(limit[1])
        return TooManyAttempts(f"too many attempts; try again in {wait // 60 + 1} minutes", retry_after=wait)

    def request_reset(self, request: ResetRequest, address: str) -> dict[str, str]:
        """Queued the same way whether or not the account exists: the same answer, in comparable time."""
        subject = (request.username or request.email or "").strip().lower()
        if not self._limiter.hit("reset-address", address, *RESET_ADDRESS_LIMIT):
            raise self._too_many(RESET_ADDRESS_LIMIT)
        if not self._limiter.hit("reset", subject, *RESET_LIMIT):
            raise self._too_many(RESET_LIMIT)
        self._queue(SendPasswordReset(username=subject) if request.username else SendPasswordReset(email=subject))
        return {"message": RESET_ANSWER}

    def confirm_reset(self, request: ResetConfirm) -> dict[str, str]:
        hashed = token_hash(request.token)
        owner = self._mail.token_owner(hashed)
        customer = self._customers.get(owner) if owner else None
        if customer is None:
            raise InvalidToken("the link is not valid any more: ask for a new one")
        self._check(request.new_password, customer, "new_password")
        try:
            self._mail.spend_token(hashed, customer.id, hash_password(request.new_password))
        except TokenSpent:
            raise InvalidToken("the link is not valid any more: ask for a new one") from None
        return {"message": "Your password is set. You can sign in with it now."}

    # ---- the mailer's side of a reset ----------------------------------------------------------------

    def reset_mail(self, message: SendPasswordReset, minutes: int) -> tuple[Customer, str, str] | None:
        """The customer a queued reset is for, a fresh token for the link and the address it goes to (the
        login's, ``recovery_address``); None when no account may get one (unknown, without a web login or an
        address for it, not allowed to sign in, or past its reset budget)."""
        customer_id = message.customer_id
        if not customer_id and message.username:
            customer_id = self._customers.claim_owner("username", message.username)
        if not customer_id and message.email:
            customer_id = self._customers.claim_owner("email", normalise_email(message.email))
        customer = self._customers.get(str(customer_id)) if customer_id else None
        if customer is None or customer.status not in MAY_SIGN_IN:
            return None
        login = self._mail.login(customer.id)
        to = self.recovery_address(customer, login) if login else None
        generation = self._mail.generation(customer.id) if to else None
        if not to or generation is None:
            return None  # no web login (a reset never creates one), or no address for its links
        if not self._limiter.hit("reset-account", customer.id, *RESET_LIMIT):
            return None  # the account's budget, whoever asked and by username, email or staff
        token, hashed = new_token()
        self._mail.put_token(hashed, customer.id, generation, utcnow() + timedelta(minutes=minutes))
        return customer, token, to

    # ---- helpers ---------------------------------------------------------------------------------------

    def _customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return customer

    def _check(self, password: str, customer: Customer, field: str) -> None:
        problems = check_new_password(password, customer.username, customer.email)
        if problems:
            raise Invalid("the password is not strong enough", fields=[field_error(field, p) for p in problems])

    def _queue(self, message: SendPasswordReset) -> None:
        if self._mail_queue is None:
            raise ConfigurationError("MAIL_QUEUE_URL is not set for this function")
        self._mail_queue.send([message])
