from django.core.management.base import BaseCommand, CommandError

from accounts.actors import Actor
from accounts.services import ServiceError, account_create
from billing.services import plan_for_purchase


class Command(BaseCommand):
    help = "Staff provisioning of a sales-assisted deal: a new account on a plan with N licenses."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--plan", required=True, help="plan code, e.g. professional")
        parser.add_argument("--licenses", type=int, required=True)
        parser.add_argument("--admin-email", help="the account's first Admin (default admin@SLUG.example.com)")
        parser.add_argument("--name", help="organisation name (default: from the slug)")
        parser.add_argument("--term-start", help="YYYY-MM-DD: a term that started up to a year ago "
                                                 "(a customer moving to us mid-term); default today")

    def handle(self, *args, slug, plan, licenses, admin_email, name, term_start=None, **options):
        email = admin_email or f"admin@{slug}.example.com"
        if term_start:
            from datetime import date

            try:
                term_start = date.fromisoformat(term_start)
            except ValueError:
                raise CommandError(f"--term-start {term_start!r} is not a date (YYYY-MM-DD).") from None
        try:
            plan_obj = plan_for_purchase(plan_code=plan, licenses=licenses)
            account, admin = account_create(
                name=name or slug.replace("-", " ").title(), slug=slug, admin_email=email,
                actor=Actor.system("provision_account"), plan_code=plan_obj.code,
                licenses=licenses, term_start=term_start or None,
            )
        except ServiceError as error:
            raise CommandError(str(error)) from None
        sub = account.subscription
        self.stdout.write(
            f"Provisioned {account.slug}: {sub.plan.name} x {sub.licenses} licenses, "
            f"term {sub.term_start} to {sub.term_end or '-'}; admin {admin.email} "
            "(no password yet: they use 'Forgot your password?' on /login/)."
        )
