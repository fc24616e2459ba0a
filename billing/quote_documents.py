"""A quote as a PDF (issue 14, item 5): the offer as the customer reads it on its page, with its
number and last valid day. Unlike an invoice it is not stored: a quote's terms may change until
it is accepted (re-pricing gives it a new validity), and once accepted its order and invoice are
the documents that stand. Rendered on request with the invoices' stylesheet (WeasyPrint)."""

from django.template.loader import render_to_string
from django.utils import timezone

from billing.context_processors import BILLING_TERMS
from billing.documents import STYLESHEET, buyer_snapshot, seller_snapshot
from billing.models import Quote, QuoteTopic

SUPPORT_TOPICS = {QuoteTopic.PREMIER, QuoteTopic.SIGNATURE}


def quote_context(quote: Quote) -> dict:
    return {
        "quote": quote, "seller": seller_snapshot(), "buyer": buyer_snapshot(account=quote.account),
        "for_the_year": quote.topic in SUPPORT_TOPICS, "printed_on": timezone.localdate(),
        "expired": quote.is_expired(), "billing_terms": BILLING_TERMS,
    }


def quote_pdf(*, quote: Quote) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the quote as it stands now."""
    from weasyprint import CSS, HTML

    html = render_to_string("billing/documents/quote.html", quote_context(quote))
    pdf = HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
        stylesheets=[CSS(filename=str(STYLESHEET))],
    )
    return f"{quote.display_number}.pdf", pdf
