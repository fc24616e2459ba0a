"""The public "Contact sales" form (issue 15): quotes, nonprofit discounts and support plans
for people who cannot use "Get a quote" (a visitor, a member who is not an Admin).

- An account Admin's message is a quote request (``billing.quotes.quote_request``): it lands in
  staff's quote queue with the account attached, and its answer shows under "Your quotes".
- Anybody else's is a ``SalesLead`` (no account exists to hang a quote on), listed in the admin
  beside the quotes; staff answer by email.

Either way staff are emailed (settings.STAFF_EMAIL, else SERVER_EMAIL) and the sender gets a
receipt, both through accounts.mail. The view throttles per client address and per email
(config/throttling.py), since every lead sends an email to an address the visitor typed.
"""

from django.conf import settings
from django.db import transaction

from accounts.mail import email_queue
from billing import quotes
from billing.models import QuoteTopic, SalesLead


def staff_sales_email() -> str:
    return settings.STAFF_EMAIL or settings.SERVER_EMAIL


def _tell(*, kind, topic, name, email, company, message, admin_url):
    topic_label = QuoteTopic(topic).label
    email_queue(
        subject=f"Contact sales ({kind}): {topic_label} from {company or name}",
        body=(
            f"{name} <{email}>{f' of {company}' if company else ''} asks about: {topic_label}.\n\n"
            f"{message}\n\nIn the staff admin: {admin_url}\n"
        ),
        recipients=[staff_sales_email()],
    )
    email_queue(
        subject="We have received your message",
        body=(
            f"Hello {name},\n\nThank you for contacting our sales team about: {topic_label}. "
            "We answer within one business day.\n\nYour message:\n\n"
            f"{message}\n"
        ),
        recipients=[email],
    )


def sales_lead_create(*, name: str, email: str, company: str, topic: str, message: str) -> SalesLead:
    """A visitor's message: stored for staff, staff told, the sender given a receipt."""
    with transaction.atomic():
        lead = SalesLead.objects.create(
            name=name.strip(), email=email.strip(), company=company.strip(), topic=topic,
            message=message.strip(),
        )
        _tell(kind="lead", topic=topic, name=lead.name, email=lead.email, company=lead.company,
              message=lead.message, admin_url=f"{settings.SITE_URL}/admin/billing/saleslead/{lead.pk}/change/")
    return lead


def sales_quote_request(*, account, topic: str, message: str, actor):
    """An account Admin's message: a real quote request, staff told, the Admin given a receipt."""
    with transaction.atomic():
        quote = quotes.quote_request(account=account, topic=topic, message=message, actor=actor)
        user = actor.user
        _tell(kind="quote", topic=topic, name=user.get_full_name() or user.email, email=user.email,
              company=account.name, message=quote.message,
              admin_url=f"{settings.SITE_URL}/admin/billing/quote/{quote.pk}/change/")
    return quote
