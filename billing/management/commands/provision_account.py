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

    def handle(self, *args, slug, plan, licenses, admin_email, name, **options):
        email = admin_email or f"admin@{slug}.example.com"
        try:
            plan_obj = plan_for_purchase(plan_code=plan, licenses=licenses)
            account, admin = account_create(
                name=name or slug.replace("-", " ").title(), slug=slug, admin_email=email,
                actor=Actor.system("provision_account"), plan_code=plan_obj.code,
                licenses=licenses,
            )
        except ServiceError as error:
            raise CommandError(str(error)) from None
        sub = account.subscription
        self.stdout.write(
            f"Provisioned {account.slug}: {sub.plan.name} x {sub.licenses} licenses, "
            f"term {sub.term_start} to {sub.term_end or '-'}; admin {admin.email} "
            "(no password yet: they use 'Forgot your password?' on /login/)."
        )
