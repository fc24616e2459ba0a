from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: a customer's admin or viewer, or one of our staff (is_staff)."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Our own staff: may log into the staff admin."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Account(models.Model):
    """A customer organisation. Everything a customer owns hangs off one of these."""

    name = models.CharField("organisation", max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    agent_key_limit = models.PositiveIntegerField(
        default=20, help_text="Active agent keys the account may have at once; staff may raise it."
    )
    # Issue 15, deleting the account (accounts/closure.py): closed at once, erased after the
    # cooling-off unless an Admin cancels; invoices and orders are kept (docs/account-life.md).
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erase_after = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Issue 11, item 4: set at sign-up and invitation (accounts.lookalike.lookalike_reason), for
    # staff to review look-alike organisations and members; nothing else reads it.
    lookalike_flag = models.CharField(
        "look-alike characters", max_length=1000, blank=True,
        help_text="Why the organisation name or a member's email may imitate another (mixed scripts "
        "in a word, invisible characters); empty when nothing was found.",
    )
    # The zone the account's pages show datetimes in (an IANA name), set by an Admin on
    # /settings/. UTC until then: unambiguous wherever the account's people are (docs/frontend.md).
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["name"]
        # Lists of accounts (the staff admin) are ordered by name, newest first among equals.
        indexes = [models.Index(fields=["name", "-id"], name="account_name_order")]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    """PRODUCT.md: Admins; Billing members (invoices, payment method, billing details; no users,
    agents or activity reports); Viewers (the dashboard and reports)."""

    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A customer user's place in their account. A login belongs to one account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["account", "role"])]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()} of {self.account})"

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def can_bill(self):
        """Sees invoices, orders and the card on file, pays invoices (Admins and Billing members)."""
        return self.role in (Role.ADMIN, Role.BILLING)

    @property
    def sees_activity(self):
        """The reports of tracked people's activity: Admins and Viewers, not Billing members."""
        return self.role in (Role.ADMIN, Role.VIEWER)


class Invitation(models.Model):
    """An Admin's invitation of a new member by email; accepted once, through a secret link."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "account",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} to {self.account}"


class SignupRequest(models.Model):
    """Sign-up's first step (issue 11, item 9): the form's answers, kept until the link emailed
    to the address is confirmed; only then are the account and its login made. The password is
    kept hashed, as a login's is. docs/security.md, "Sign-up and invitations"."""

    email = models.EmailField()
    organisation = models.CharField(max_length=200)
    full_name = models.CharField(max_length=150, blank=True)
    password_hash = models.CharField(max_length=128)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"sign-up of {self.email} ({self.organisation})"


class ActorKind(models.TextChoices):
    USER = "user", "Customer user"
    STAFF = "staff", "Staff member"
    AGENT = "agent", "Agent key"
    JOB = "job", "Scheduled job"
    SYSTEM = "system", "System"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEntry(models.Model):
    """Append-only record of every change of licenses, compliance, subscription, order, invoice,
    support entitlement and user management: who, what, before, after, when."""

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="agent key prefix, job name, ...")
    kind = models.CharField(max_length=60, db_index=True)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    # The client's address of a change made through a request (accounts.middleware): the
    # customer's event log shows where their own people acted from.
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self):
        return f"{self.kind} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class OutboundEmailState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"


class OutboundEmail(models.Model):
    """An email to send, written in the transaction of the change it tells about, and sent by the
    task cluster after the commit (``accounts.mail``). Its row is the record that it was sent;
    ``key`` (when given) makes one email per event, whoever asks twice."""

    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    recipients = models.TextField(help_text="one address per line")
    # [[loader's dotted path, [arguments]], ...]: called when sent (accounts.mail).
    attachments = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=8, choices=OutboundEmailState.choices, default=OutboundEmailState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.subject} ({self.state})"


class BillingContact(models.Model):
    """An email address that receives the account's money emails (invoices, receipts, dunning,
    renewals) beside its Admins and Billing members: at most 5 per account (issue 14), edited by
    an Admin on the Billing details page (``accounts.services.billing_contacts_set``)."""

    MAX_PER_ACCOUNT = 5

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="billing_contacts")
    email = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "account", name="one_billing_contact_per_email"),
        ]

    def __str__(self):
        return self.email
