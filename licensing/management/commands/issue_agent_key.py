from django.core.management.base import BaseCommand, CommandError

from accounts.actors import Actor
from accounts.models import Account
from licensing.services import agent_key_create


class Command(BaseCommand):
    help = "Issues an agent key for an account (staff). The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"No account with the slug {slug!r}.")
        key, secret = agent_key_create(
            account=account, name=name or "issued by staff", actor=Actor.system("issue_agent_key")
        )
        self.stdout.write(f"Agent key {key.prefix} for {account.name}. It is shown only once:")
        self.stdout.write(secret)
