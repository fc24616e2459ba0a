import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.actors import Actor
from accounts.hooks import account_created
from accounts.models import Account, AuditEntry, BillingContact, Invitation, Membership, Role, User

INVITATION_DAYS = 7


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
                account = Account.objects.create(name=name, slug=slug or unique_slug(name))
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


def account_signup(*, organisation, email, password, full_name=""):
    """Public sign-up: the account, its first Admin and (through the hook) a Professional trial."""
    account, admin = account_create(name=organisation, admin_email=email, admin_password=password)
    if full_name:
        admin.full_name = full_name
        admin.save(update_fields=["full_name"])
    return account, admin


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, account, email, role, invited_by):
    """Invites ``email`` into ``account``; returns (invitation, secret token for the link)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ServiceError(f"{email} already has a login.")
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
        audit_record(
            account=account, actor=Actor.for_user(invited_by), kind="member.invited",
            summary=f"{email} invited as {role}", after={"email": email, "role": role},
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


def membership_set_role(*, membership, role, actor):
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == Role.ADMIN and role != Role.ADMIN:
            admins = Membership.objects.filter(account=membership.account, role=Role.ADMIN)
            if admins.count() <= 1:
                raise ServiceError("An account keeps at least one Admin.")
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            account=membership.account, actor=actor, kind="member.role_changed",
            summary=f"{membership.user.email}: {before} -> {role}",
            before={"role": before}, after={"role": role},
        )
    return membership


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
