import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.actors import Actor
from accounts.hooks import account_created
from accounts.lookalike import lookalike_reason
from accounts.mail import email_queue
from accounts.middleware import request_address
from accounts.models import (
    Account,
    AuditEntry,
    BillingContact,
    Invitation,
    Membership,
    Role,
    SignupRequest,
    User,
)

INVITATION_DAYS = 7
# A sign-up confirmation link works for 2 days: long enough for a mailbox that is slow, short
# enough that a forgotten one does not hold an address's organisation name and password hash.
SIGNUP_CONFIRM_DAYS = 2


class ServiceError(Exception):
    """A refused command; ``str(error)`` is the reason, worded for the person who asked."""


def audit_record(*, account, actor, kind, summary="", before=None, after=None, reason=""):
    """Appends one row to the audit log. Call it inside the transaction of the change."""
    return AuditEntry.objects.create(
        account=account,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        kind=kind,
        summary=summary[:300],
        before=before or {},
        after=after or {},
        reason=reason,
        address=request_address(),
    )


def unique_slug(name):
    base = slugify(name)[:50] or "account"
    slug, n = base, 1
    while Account.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def account_create(*, name, slug=None, admin_email, admin_password=None, actor=None, **hook_kwargs):
    """Creates an account and its first Admin, then lets higher apps set it up through the
    ``account_created`` hook (billing starts the trial, or the provisioned subscription)."""
    email = admin_email.strip().lower()
    with transaction.atomic():
        if slug is not None and Account.objects.filter(slug=slug).exists():
            raise ServiceError(f"The slug {slug!r} is already in use.")
        if User.objects.filter(email__iexact=email).exists():
            raise ServiceError(f"{email} already has a login.")
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    name=name, slug=slug or unique_slug(name),
                    lookalike_flag=_lookalike_flag(("organisation name", name), ("admin email", email)),
                )
        except IntegrityError:
            raise ServiceError(f"The slug {slug!r} is already in use.") from None
        try:
            with transaction.atomic():
                admin = User.objects.create_user(email=email, password=admin_password)
        except IntegrityError:  # the same email signed up twice at once: the other one won
            raise ServiceError(f"{email} already has a login.") from None
        Membership.objects.create(account=account, user=admin, role=Role.ADMIN)
        actor = actor or Actor.for_user(admin)
        audit_record(
            account=account, actor=actor, kind="account.created",
            summary=f"Account {account.slug} created with admin {email}",
            after={"name": name, "slug": account.slug, "admin": email},
        )
        account_created.send(sender=Account, account=account, actor=actor, **hook_kwargs)
    return account, admin


def _lookalike_flag(*labelled):
    """The staff flag for look-alike texts: ``("organisation name", "Аcme")`` -> reason."""
    flag = "; ".join(f"{label} {text}: {reason}" for label, text in labelled if (reason := lookalike_reason(text)))
    return flag[:FLAG_MAX]


FLAG_MAX = Account._meta.get_field("lookalike_flag").max_length


def _lookalike_flag_add(account, reason):
    """Adds a reason to the account's flag (in the caller's transaction; the row is locked so
    two invitations at once both stay written)."""
    if reason:
        current = Account.objects.select_for_update().values_list("lookalike_flag", flat=True).get(pk=account.pk)
        flag = "; ".join(filter(None, [current, reason]))[:FLAG_MAX]
        Account.objects.filter(pk=account.pk).update(lookalike_flag=flag)
        account.lookalike_flag = flag


def account_signup(*, organisation, email, password, full_name=""):
    """Public sign-up: the account, its first Admin and (through the hook) a Professional trial."""
    account, admin = account_create(name=organisation, admin_email=email, admin_password=password)
    if full_name:
        admin.full_name = full_name
        admin.save(update_fields=["full_name"])
    return account, admin


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _site_link(name, *args):
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def signup_request(*, organisation, email, password, full_name="") -> None:
    """Sign-up's first step. The answer is the same whether the email has a login or not
    (issue 11, item 9, as Django's password reset): a new address gets a link that confirms
    the sign-up (``signup_confirm`` makes the account then); an address that has a login is
    told by email that someone tried to sign up with it, and how to log in or reset its
    password. Both paths hash the password and queue one email, so neither the page nor its
    timing tells them apart."""
    email = email.strip().lower()
    password_hash = make_password(password)
    existing = User.objects.filter(email__iexact=email).values_list("email", flat=True).first()
    with transaction.atomic():
        if existing:
            email_queue(
                subject="Someone tried to sign up with your address",
                body=(
                    f"Someone (perhaps you) tried to sign up for a new account with {existing}, but this "
                    "address already has a login.\n\n"
                    f"Log in: {_site_link('login')}\n"
                    f"Forgot your password? Reset it: {_site_link('password_reset')}\n\n"
                    "If it was not you, you can ignore this email: nothing was changed."
                ),
                recipients=[existing],
            )
            return
        token = secrets.token_urlsafe(32)
        SignupRequest.objects.create(
            email=email, organisation=organisation.strip(), full_name=full_name.strip(),
            password_hash=password_hash, token_hash=_token_hash(token),
            expires_at=timezone.now() + timedelta(days=SIGNUP_CONFIRM_DAYS),
        )
        email_queue(
            subject="Confirm your sign-up",
            body=(
                f"Confirm the new account of {organisation.strip()} with this address:\n\n"
                f"{_site_link('signup_confirm', token)}\n\n"
                f"The link works for {SIGNUP_CONFIRM_DAYS} days. If you did not sign up, ignore "
                "this email: no account is made."
            ),
            recipients=[email],
        )


def signup_find(*, token):
    """The unconfirmed, unexpired sign-up of a confirmation link, or None."""
    return SignupRequest.objects.filter(
        token_hash=_token_hash(token), confirmed_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def signup_requests_purge(*, now=None) -> int:
    """Forgets the sign-ups past their link's expiry, confirmed or not (a daily job): an
    unconfirmed one kept an address, a name and a password hash nobody confirmed; a confirmed one
    has made its account and login, and is needed no more. One set-based DELETE; state-based, a
    second run does nothing. Returns the rows deleted."""
    deleted, _ = SignupRequest.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def signup_confirm(*, token):
    """Sign-up's second step, from the emailed link: the account, its first Admin (with the
    password given at sign-up) and, through the hook, the trial. Returns (account, admin)."""
    with transaction.atomic():
        request = SignupRequest.objects.select_for_update().filter(
            token_hash=_token_hash(token), confirmed_at__isnull=True, expires_at__gt=timezone.now()
        ).first()
        if request is None:
            raise ServiceError("This link has already been used or has expired. Sign up again.")
        # A second sign-up of the same address confirmed first: account_create refuses, and only
        # the address's owner (who holds this link) reads that it has a login.
        account, admin = account_create(name=request.organisation, admin_email=request.email)
        admin.password = request.password_hash
        admin.full_name = request.full_name
        admin.save(update_fields=["password", "full_name"])
        request.confirmed_at = timezone.now()
        request.save(update_fields=["confirmed_at"])
    return account, admin


def invitation_create(*, account, email, role, invited_by):
    """Invites ``email`` into ``account`` and queues the email; returns (invitation, secret
    token for the link). An address that already has a login (a login belongs to one account)
    gets an email saying so instead of a link; the invitation stays pending until it expires,
    as any unanswered one, so the inviter learns nothing about other accounts."""
    email = email.strip().lower()
    # Refused only within the inviting account (its Admins see its members anyway); a login of
    # another account is invited like a new address and told by email (issue 11, item 9).
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise ServiceError(f"{email} is already a member of this account.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(
            account=account, email__iexact=email, accepted_at__isnull=True
        ).delete()
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    account=account, email=email, role=role, token_hash=_token_hash(token),
                    invited_by=invited_by, expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
                )
        except IntegrityError:  # two Admins invited this email at the same moment
            raise ServiceError(f"{email} has just been invited by another Admin.") from None
        _lookalike_flag_add(account, _lookalike_flag(("invited email", email)))
        audit_record(
            account=account, actor=Actor.for_user(invited_by), kind="member.invited",
            summary=f"{email} invited as {role}", after={"email": email, "role": role},
        )
        existing = User.objects.filter(email__iexact=email).values_list("email", flat=True).first()
        if existing:
            email_queue(
                subject=f"You are invited to {account.name}",
                body=(
                    f"{invited_by.email} invited you to join {account.name} as {invitation.get_role_display()}, "
                    f"but {existing} already has a login, and a login belongs to one account. Ask "
                    f"{invited_by.email} to invite another address of yours, or log in: {_site_link('login')}"
                ),
                recipients=[existing],
            )
        else:
            email_queue(
                subject=f"You are invited to {account.name}",
                body=(
                    f"{invited_by.email} invited you to join {account.name} as "
                    f"{invitation.get_role_display()}.\n\nAccept: {_site_link('accept_invitation', token)}\n\n"
                    f"The link works for {INVITATION_DAYS} days."
                ),
                recipients=[invitation.email],
            )
    return invitation, token


def invitation_find(*, token):
    """The open, unexpired invitation for a link's token, or None."""
    return (
        Invitation.objects.select_related("account")
        .filter(token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def invitation_accept(*, invitation, password, full_name=""):
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None or invitation.expires_at <= timezone.now():
            raise ServiceError("This invitation has already been used or has expired.")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ServiceError(f"{invitation.email} already has a login.")
        user = User.objects.create_user(
            email=invitation.email, password=password, full_name=full_name
        )
        Membership.objects.create(account=invitation.account, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            account=invitation.account, actor=Actor.for_user(user), kind="member.joined",
            summary=f"{user.email} joined as {invitation.role}",
            after={"email": user.email, "role": invitation.role},
        )
    return user


def _admins_locked(account_id):
    """The account's Admin memberships, locked in one order: two Admins demoting or removing each
    other at the same moment cannot both pass the "at least one Admin" check."""
    return list(
        Membership.objects.select_for_update().filter(account_id=account_id, role=Role.ADMIN)
        .order_by("pk").values_list("pk", flat=True)
    )


def membership_set_role(*, membership, role, actor):
    """An Admin changes a member's role. An account keeps at least one Admin."""
    if role not in Role.values:
        raise ServiceError("Choose a role: Admin, Billing or Viewer.")
    with transaction.atomic():
        admins = _admins_locked(membership.account_id)
        membership = Membership.objects.select_for_update().select_related("user", "account").get(pk=membership.pk)
        if membership.role == Role.ADMIN and role != Role.ADMIN and admins == [membership.pk]:
            raise ServiceError("An account keeps at least one Admin.")
        before = membership.role
        if before == role:
            return membership
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            account=membership.account, actor=actor, kind="member.role_changed",
            summary=f"{membership.user.email}: {before} -> {role}",
            before={"role": before}, after={"role": role},
        )
    return membership


def membership_remove(*, membership, actor, by_user=None):
    """An Admin removes a member: the membership goes, the login is deactivated (a login belongs
    to one account; the user row stays for the audit trail). Never the last Admin, never oneself
    (another Admin does it, so that nobody locks themselves out by a click)."""
    with transaction.atomic():
        admins = _admins_locked(membership.account_id)
        membership = Membership.objects.select_for_update().select_related("user", "account").get(pk=membership.pk)
        if by_user is not None and membership.user_id == by_user.pk:
            raise ServiceError("You cannot remove yourself: another Admin of the account can.")
        if membership.role == Role.ADMIN and admins == [membership.pk]:
            raise ServiceError("An account keeps at least one Admin.")
        user = membership.user
        before = {"email": user.email, "role": membership.role}
        membership.delete()
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            account=membership.account, actor=actor, kind="member.removed",
            summary=f"{user.email} removed ({before['role']})", before=before,
        )
    return user


def account_set_time_zone(*, account: Account, time_zone: str, actor: Actor) -> Account:
    """The zone the account's pages show datetimes in; an IANA name (accounts.time_zones)."""
    from accounts.time_zones import is_time_zone

    if not is_time_zone(time_zone):
        raise ServiceError(f"{time_zone!r} is not a time zone we know: choose one from the list.")
    with transaction.atomic():
        before = Account.objects.select_for_update().values_list("time_zone", flat=True).get(pk=account.pk)
        if before == time_zone:
            return account
        Account.objects.filter(pk=account.pk).update(time_zone=time_zone)
        account.time_zone = time_zone
        audit_record(
            account=account, actor=actor, kind="account.time_zone_changed",
            summary=f"Time zone {before} -> {time_zone}",
            before={"time_zone": before}, after={"time_zone": time_zone},
        )
    return account


def billing_contacts_clean(emails) -> list[str]:
    """The billing contacts as typed (a list, or one string of addresses separated by commas,
    spaces or lines), checked and normalised: lower case, each once, at most 5, sorted."""
    if isinstance(emails, str):
        emails = emails.replace(",", " ").replace(";", " ").split()
    found = []
    for email in emails:
        email = email.strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(f"{email[:100]} is not an email address.") from None
        if email not in found:
            found.append(email)
    if len(found) > BillingContact.MAX_PER_ACCOUNT:
        raise ServiceError(f"At most {BillingContact.MAX_PER_ACCOUNT} billing contacts "
                           f"(you gave {len(found)}).")
    return sorted(found)


def billing_contacts_set(*, account, actor, emails) -> list[str]:
    """Replaces the account's billing contacts (issue 14), audited when they change. Call inside
    the caller's transaction or alone."""
    emails = billing_contacts_clean(emails)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()  # one editor at a time
        before = list(BillingContact.objects.filter(account=account).values_list("email", flat=True))
        if before == emails:
            return emails
        BillingContact.objects.filter(account=account).exclude(email__in=emails).delete()
        BillingContact.objects.bulk_create(
            [BillingContact(account=account, email=email) for email in emails if email not in before]
        )
        audit_record(
            account=account, actor=actor, kind="billing.contacts_updated",
            summary=f"Billing contacts of {account.name}: {', '.join(emails) or 'none'}",
            before={"contacts": before}, after={"contacts": emails},
        )
    return emails
