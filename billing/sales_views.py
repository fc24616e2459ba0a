"""The public "Contact sales" page (billing/sales.py says who gets a quote and who a lead)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.services import ServiceError
from billing import sales
from billing.models import QuoteTopic
from config.throttling import client_ip, over_limit


class HoneypotInput(forms.TextInput):
    """A text box people never see (CSS moves it off screen) and bots fill in."""

    is_hidden = True

    def __init__(self):
        super().__init__(attrs={"class": "hp", "tabindex": "-1", "autocomplete": "off",
                                "aria-hidden": "true"})


class ContactSalesForm(forms.Form):
    name = forms.CharField(max_length=120, label="Your name")
    email = forms.EmailField(max_length=254, label="Work email")
    company = forms.CharField(max_length=200, required=False, label="Company or organisation")
    topic = forms.ChoiceField(choices=QuoteTopic.choices, label="What can we help with?")
    message = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
                              label="Tell us about your team and what you need")
    website = forms.CharField(required=False, widget=HoneypotInput())  # the honeypot

    def __init__(self, *args, known_sender=False, **kwargs):
        super().__init__(*args, **kwargs)
        if known_sender:  # a logged-in member: name and email are their login's
            for name in ("name", "email", "company"):
                del self.fields[name]


def _throttled(request, email):
    # Every lead emails an address the visitor typed: per client address and per email (both
    # counted on every post), CONTACT_SALES_LIMIT_* per CONTACT_SALES_WINDOW seconds.
    window = settings.CONTACT_SALES_WINDOW
    over_ip = over_limit("sales-ip", client_ip(request), settings.CONTACT_SALES_LIMIT_PER_IP, window)
    over_email = over_limit("sales-email", email.strip().lower(), settings.CONTACT_SALES_LIMIT_PER_EMAIL, window)
    return over_ip or over_email


@require_http_methods(["GET", "POST"])
def contact_sales(request):
    membership = request.membership if request.user.is_authenticated else None
    account = membership.account if membership else None
    form = ContactSalesForm(request.POST or None, known_sender=membership is not None,
                            initial={"topic": request.GET.get("topic")})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            return redirect("contact_sales_thanks")  # a bot: it looks sent, nothing is kept
        email = request.user.email if membership else data["email"]
        if _throttled(request, email):
            form.add_error(None, "We have had several messages from you in the last hour; "
                                 "please try again later.")
            status = 429
        elif membership and membership.is_admin:
            try:
                quote = sales.sales_quote_request(
                    account=account, topic=data["topic"], message=data["message"],
                    actor=Actor.for_user(request.user),
                )
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Thanks: our team will answer your quote request by email.")
                return redirect("billing_quote", pk=quote.pk)
        else:
            sales.sales_lead_create(
                name=data.get("name") or request.user.get_full_name() or email, email=email,
                company=data.get("company") or (account.name if account else ""),
                topic=data["topic"], message=data["message"],
            )
            return redirect("contact_sales_thanks")
    return render(request, "billing/contact_sales.html", {
        "form": form, "account": account, "as_quote": bool(membership and membership.is_admin),
    }, status=status)


def contact_sales_thanks(request):
    return render(request, "billing/contact_sales_thanks.html")
