"""Idempotent demo data; the README lists these logins."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Account, Membership, Role, User
from accounts.services import account_create

DEMO_PASSWORD = "demo-password"
STAFF_EMAIL = "staff@example.com"

# Acme's term started five months ago (a customer in the middle of its year), so that the cart
# prorates as a newcomer to the demo expects; the others start today.
ACME_TERM_STARTED_DAYS_AGO = 150

# slug: (name, admin email, plan code or None for a trial, licenses)
DEMO_ACCOUNTS = {
    "acme": ("Acme Corporation", "admin@acme.example.com", "professional", 89),
    "tinyco": ("TinyCo", "admin@tinyco.example.com", "free", None),
    "trialco": ("TrialCo", "admin@trialco.example.com", None, None),
}
ACME_VIEWER = "viewer@acme.example.com"


class Command(BaseCommand):
    help = "Creates the demo accounts and logins (idempotent: existing ones are left alone)."

    def handle(self, *args, **options):
        actor = Actor.system("seed_demo")
        with transaction.atomic():
            if not User.objects.filter(email=STAFF_EMAIL).exists():
                User.objects.create_superuser(STAFF_EMAIL, DEMO_PASSWORD, full_name="Demo Staff")
            for slug, (name, email, plan_code, licenses) in DEMO_ACCOUNTS.items():
                account = Account.objects.filter(slug=slug).first()
                if account is None:
                    extra = {}
                    if slug == "acme":
                        extra["term_start"] = timezone.localdate() - timedelta(days=ACME_TERM_STARTED_DAYS_AGO)
                    account, admin = account_create(
                        name=name, slug=slug, admin_email=email, admin_password=DEMO_PASSWORD,
                        actor=actor, plan_code=plan_code, licenses=licenses, **extra,
                    )
                self.seed_account(account)
            acme = Account.objects.get(slug="acme")
            if not User.objects.filter(email=ACME_VIEWER).exists():
                viewer = User.objects.create_user(ACME_VIEWER, DEMO_PASSWORD)
                Membership.objects.create(account=acme, user=viewer, role=Role.VIEWER)
        self.stdout.write(f"Demo ready. Logins use the password {DEMO_PASSWORD!r}.")

    def seed_account(self, account):
        """Per-account demo data of the other apps (tracked users, ...)."""
        seed_tracked_users(account, DEMO_TRACKED_USERS.get(account.slug, 0))
        seed_usage_history(account)


# The seed's example: 340 users on 89 licenses puts Acme in its grace period.
DEMO_TRACKED_USERS = {"acme": 340, "tinyco": 2, "trialco": 5}


def seed_tracked_users(account, count):
    """``count`` tracked users for ``account`` (idempotent), the counter set and compliance
    evaluated. Acme's are domain users plus a few stand-alone ones, as a real fleet would be."""
    from datetime import timedelta

    from django.utils import timezone

    from licensing.compliance import compliance_evaluate, licensing_row
    from licensing.identity import identity_of
    from licensing.models import AccountLicensing, TrackedUser, TrackedUserState

    if not count:
        return
    now = timezone.now()
    users = []
    for n in range(1, count + 1):
        standalone = n % 10 == 0
        domain = None if standalone else account.slug.upper()
        machine = f"{account.slug}-laptop-{n:04d}"
        username = f"user{n:04d}"
        ident = identity_of(domain=domain, machine_id=machine, username=username)
        users.append(TrackedUser(
            account=account, identity_kind=ident.kind, identity_scope=ident.scope,
            identity_name=ident.name, domain=domain or "", username=username,
            machine_hostname=machine if standalone else "",
            first_seen_at=now - timedelta(days=60), last_log_record_at=now - timedelta(hours=n % 24 + (n % 45) * 24),
        ))
    TrackedUser.objects.bulk_create(users, ignore_conflicts=True, batch_size=1000)
    seed_machines(account, first_seen=now - timedelta(days=60))
    licensing_row(account=account)
    used = TrackedUser.objects.filter(account=account, state=TrackedUserState.ACTIVE).count()
    AccountLicensing.objects.filter(account=account).update(used=used)
    compliance_evaluate(account=account, actor=Actor.system("seed_demo"))


def seed_machines(account, *, first_seen):
    """Each seeded user's laptop, linked as a check-in would link it (idempotent): the Agents page
    and a user's machines are not empty in the demo."""
    from licensing.models import Machine, TrackedUser, TrackedUserMachine

    users = list(TrackedUser.objects.filter(account=account).only("pk", "username", "domain", "last_log_record_at"))
    Machine.objects.bulk_create([
        Machine(account=account, machine_id=f"{account.slug}-laptop-{u.username[4:]}",
                hostname=f"{account.slug}-laptop-{u.username[4:]}", domain=u.domain,
                first_seen_at=first_seen, last_seen_at=u.last_log_record_at or first_seen)
        for u in users if u.username.startswith("user")
    ], ignore_conflicts=True, batch_size=1000)
    machines = dict(Machine.objects.filter(account=account).values_list("machine_id", "pk"))
    TrackedUserMachine.objects.bulk_create([
        TrackedUserMachine(tracked_user=u, machine_id=machines[f"{account.slug}-laptop-{u.username[4:]}"],
                           last_seen_at=u.last_log_record_at or first_seen)
        for u in users if f"{account.slug}-laptop-{u.username[4:]}" in machines
    ], ignore_conflicts=True, batch_size=1000)


def seed_usage_history(account, days=90):
    """90 days of daily high waters rising to today's count, so the dashboard's chart has a
    story to tell (idempotent: existing days are kept)."""
    from datetime import timedelta

    from licensing.models import AccountLicensing, UsageSnapshot
    from licensing.reports import today_utc

    row = AccountLicensing.objects.filter(account=account).first()
    subscription = getattr(account, "subscription", None)
    if row is None or subscription is None or not row.used:
        return
    today = today_utc()
    # A trial's (or any new account's) history starts when its term did, not 90 days back.
    days = min(days, max(1, (today - subscription.term_start).days)) if subscription.term_start else days
    UsageSnapshot.objects.bulk_create(
        [
            UsageSnapshot(
                account=account, day=today - timedelta(days=days - i),
                used=max(1, round(row.used * (0.25 + 0.75 * i / days))), licenses=subscription.licenses,
            )
            for i in range(days)
        ],
        ignore_conflicts=True,
    )
