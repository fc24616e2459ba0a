"""Idempotent demo data; the README lists these logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.actors import Actor
from accounts.models import Account, Membership, Role, User
from accounts.services import account_create

DEMO_PASSWORD = "demo-password"
STAFF_EMAIL = "staff@example.com"

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
                    account, admin = account_create(
                        name=name, slug=slug, admin_email=email, admin_password=DEMO_PASSWORD,
                        actor=actor, plan_code=plan_code, licenses=licenses,
                    )
                self.seed_account(account)
            acme = Account.objects.get(slug="acme")
            if not User.objects.filter(email=ACME_VIEWER).exists():
                viewer = User.objects.create_user(ACME_VIEWER, DEMO_PASSWORD)
                Membership.objects.create(account=acme, user=viewer, role=Role.VIEWER)
        self.stdout.write(f"Demo ready. Logins use the password {DEMO_PASSWORD!r}.")

    def seed_account(self, account):
        """Per-account demo data of the other apps (tracked users, ...)."""
