from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account


class AgentKey(models.Model):
    """An account's key for its desktop agents. Shown once; stored as a SHA-256 hash; known
    afterwards by its prefix."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="agent_keys")
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.account})"

    @property
    def is_active(self):
        return self.revoked_at is None


class IdentityKind(models.TextChoices):
    DOMAIN = "domain", "Domain user"  # (logon domain, username)
    MACHINE = "machine", "Local user"  # (machine, local username)


class TrackedUserState(models.TextChoices):
    ACTIVE = "active", "Active"
    DO_NOT_TRACK = "do_not_track", "Do Not Track"
    DELETED = "deleted", "Deleted"
    MERGED = "merged", "Merged"


class TrackedUser(models.Model):
    """A person an agent saw log in. Counts against the licenses while active."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tracked_users")
    identity_kind = models.CharField(max_length=10, choices=IdentityKind.choices)
    # Normalised (NFC, simply lower-cased: licensing.identity) parts of the identity: the domain or the machine id, and
    # the username. Display spellings are kept apart, as first seen.
    identity_scope = models.CharField(max_length=255)
    identity_name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=255)
    machine_hostname = models.CharField(max_length=255, blank=True, help_text="stand-alone: its machine")
    alias = models.CharField(max_length=50, blank=True)
    state = models.CharField(
        max_length=15, choices=TrackedUserState.choices, default=TrackedUserState.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_log_record_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One tracked user per identity per account. A deleted user's identity is free
            # again: if its agent still reports, it comes back as a new user.
            models.UniqueConstraint(
                fields=["account", "identity_kind", "identity_scope", "identity_name"],
                condition=~models.Q(state="deleted"),
                name="one_tracked_user_per_identity",
            )
        ]
        indexes = [
            models.Index(fields=["account", "state"]),
            # The Users page's two orders (inactive users first; by name), in either direction.
            models.Index(fields=["account", "last_log_record_at", "id"], name="trackeduser_last_log_order"),
            models.Index(fields=["account", "username", "id"], name="trackeduser_name_order"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.alias:
            return self.alias
        where = self.domain if self.identity_kind == IdentityKind.DOMAIN else self.machine_hostname
        return f"{where}\\{self.username}" if where else self.username


class Machine(models.Model):
    """A computer an agent runs on."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="machines")
    machine_id = models.CharField(max_length=128)
    hostname = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # Retired by an Admin (issue 15): off the active list. A check-in after it (last_seen_at >
    # retired_at) lists it as active again: the agent is evidently back.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "machine_id"], name="one_machine_per_id")
        ]
        indexes = [
            # The Agents page's pages (silent first: by last check-in) and its retired machines
            # (latest retired first), read along these instead of sorting every machine.
            models.Index(fields=["account", "last_seen_at", "id"], name="machine_last_seen_order"),
            models.Index(
                fields=["account", "retired_at", "id"], name="machine_retired_order",
                condition=models.Q(retired_at__isnull=False),
            ),
        ]

    def __str__(self):
        return self.hostname


class TrackedUserMachine(models.Model):
    """Which machines a tracked user was seen on, and when last."""

    tracked_user = models.ForeignKey(TrackedUser, on_delete=models.CASCADE, related_name="machine_links")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="user_links")
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tracked_user", "machine"], name="one_link_per_user_machine")
        ]


class CheckinEvent(models.Model):
    """An agent event already received: a second event with its id is a duplicate.

    Every check-in inserts one row per event, so the row is kept lean (issue 13): no foreign key
    constraint in the database (its check, one lookup of the account per inserted row, was 0.35
    to 0.5 ms of PostgreSQL's CPU a batch of 100) and no index of its own on the account (the
    unique index's first column serves it). Django still deletes an account's rows with the
    account (``on_delete`` runs in the ORM), and the purge job removes the old ones."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+",
                                db_constraint=False, db_index=False)
    event_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "event_id"], name="one_event_per_id")
        ]


class ComplianceState(models.TextChoices):
    OK = "ok", "In good standing"
    GRACE = "grace", "Grace period"
    BLOCKED = "blocked", "Data access blocked"


class BlockedReason(models.TextChoices):
    """Why data access is closed (``AccountLicensing.blocked_reason``): one value and one wording
    per reason, read by the banner, the reports page, the check-in API and the admin."""

    GRACE_EXPIRED = "grace_expired", "Grace period ended"
    FREE_OVER_LIMIT = "free_over_limit", "Free plan over its users"
    STORAGE_OVER_LIMIT = "storage_over_limit", "Storage over the plan's limit"

    @classmethod
    def explain(cls, reason, *, used, licenses, grace_days=None):
        """The reason as the customer reads it, to follow "Data access is blocked: " (the
        numbers are the account's own and its plan's: licenses, Free's cap, the grace length)."""
        grace = f"{grace_days}-day grace period" if grace_days else "grace period"
        return {
            cls.GRACE_EXPIRED: f"the {grace} ended while more users are tracked than the account "
                               f"has licenses ({used} users on {licenses} licenses)",
            cls.FREE_OVER_LIMIT: f"the Free plan tracks at most {licenses} users and this account "
                                 f"tracks {used}",
            cls.STORAGE_OVER_LIMIT: "the activity stored is over the plan's storage limit",
        }.get(reason, "the account is not in good standing with its licenses")


class AccountLicensing(models.Model):
    """Per-account licensing state: the maintained count of users used and compliance."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="licensing")
    used = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=ComplianceState.choices, default=ComplianceState.OK)
    blocked_reason = models.CharField(max_length=30, blank=True, choices=BlockedReason.choices)
    over_since = models.DateTimeField(null=True, blank=True)
    grace_period_ends_at = models.DateTimeField(null=True, blank=True)
    grace_notice_sent_at = models.DateTimeField(null=True, blank=True)
    grace_3_day_notice_sent_at = models.DateTimeField(null=True, blank=True)
    grace_1_day_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The last grace period's start and end (with staff extensions), kept after it ends: one
    # grace period per 30 days (PRODUCT.md, compliance; ``compliance.grace_period_for``).
    last_grace_started_at = models.DateTimeField(null=True, blank=True)
    last_grace_ends_at = models.DateTimeField(null=True, blank=True)
    storage_bytes = models.BigIntegerField(default=0)
    # Issue 15: the storage warning last sent (80 = "80 % full"); back to 0 once under it again,
    # so that the next crossing is told again (licensing.notices.storage_notices_send).
    storage_notice_percent = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "grace_period_ends_at"])]

    def __str__(self):
        return f"licensing of {self.account}"


class ActivityDay(models.Model):
    """Activity rolled up per tracked user per day (UTC) and per (app, site[, url path, title]).

    Ingestion adds seconds to the row of its rollup key (``licensing.activity``); the key is a
    hash of (app, site, url_path, title) so that the unique index stays small whatever the
    lengths of the texts (a btree entry on PostgreSQL is limited to about 2.7 kB).
    """

    # No index of its own: the rollup key's unique index starts with (account, day).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    tracked_user = models.ForeignKey(TrackedUser, on_delete=models.CASCADE, related_name="activity")
    day = models.DateField()
    app = models.CharField(max_length=200)
    site = models.CharField(max_length=255, blank=True, help_text="the site's domain only")
    url_path = models.CharField(max_length=2000, blank=True, help_text="only with Screen Details")
    title = models.CharField(max_length=500, blank=True, help_text="only with Screen Details")
    rollup_key = models.CharField(max_length=32, default="", editable=False)
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Concurrent check-ins of one user add to one row (INSERT .. ON CONFLICT needs it).
            # (account, day) first: the same index serves the reports' and the purge's ranges,
            # so an ingested row maintains three indexes (this, the primary key, tracked_user).
            models.UniqueConstraint(
                fields=["account", "day", "tracked_user", "rollup_key"],
                name="one_activity_row_per_rollup_key",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.app} {self.site} ({self.seconds}s)"


class UsageSnapshot(models.Model):
    """The day's high water of users used, for the dashboard's 90-day chart."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_snapshots")
    day = models.DateField()
    used = models.PositiveIntegerField()
    licenses = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="one_snapshot_per_day")]

    def __str__(self):
        return f"{self.account} {self.day}: {self.used} / {self.licenses}"
