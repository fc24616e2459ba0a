import uuid

from django import forms

from accounts.services import ServiceError, billing_contacts_clean
from billing.cart import PaymentMethod
from billing.models import BillingDetails
from billing.tax_ids import TaxIdError, tax_id_normalise
from billing.templatetags.money import whole_cents

KEEP_PLAN = ""


class CartForm(forms.Form):
    plan = forms.ChoiceField(label="Plan", required=False)
    MAX_LICENSES = 100_000
    licenses = forms.IntegerField(label="Licenses", min_value=1, max_value=MAX_LICENSES)
    addons = forms.MultipleChoiceField(label="Add-ons", required=False,
                                       widget=forms.CheckboxSelectMultiple)
    coupon = forms.CharField(label="Coupon code", required=False, max_length=40,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, subscription, plans, addons, new_term, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [] if new_term else [(KEEP_PLAN, f"Keep {subscription.plan.name}")]
        choices += [(p.code, f"{p.name} ({whole_cents(p.price_per_user_month_cents)}/user/month)")
                    for p in plans if p.is_paid and p.pk != (None if new_term else subscription.plan_id)]
        self.fields["plan"].choices = choices
        # Every add-on is a valid value here so that the service can say why the staff-only
        # ones are not in the cart; the page only offers the cart's.
        self.fields["addons"].choices = [(a.code, a.name) for a in addons]


class CheckoutForm(forms.Form):
    cart = forms.IntegerField(widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    expected_total_cents = forms.IntegerField(widget=forms.HiddenInput)
    # The priced lines the Admin saw (billing.cart.cart_fingerprint): a second tab that changed
    # the cart to other lines with the same total is caught too.
    expected_fingerprint = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    payment_method = forms.ChoiceField(
        label="Pay by", widget=forms.RadioSelect,
        choices=[(PaymentMethod.CARD, "Card"), (PaymentMethod.INVOICE, "Invoice (net 30: check, wire, direct deposit)")],
        initial=PaymentMethod.CARD,
    )
    use_card_on_file = forms.BooleanField(required=False, label="Pay with the card on file")
    # The sandbox: a test card number typed here. Stripe: the confirmed SetupIntent of the card
    # Element, filled in by static/js/card.js (the number itself never reaches our server).
    card = forms.CharField(
        label="Card number", required=False, max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    @staticmethod
    def new_key():
        return uuid.uuid4().hex


class CardForm(forms.Form):
    """A card entered to be saved (replacing the card on file) or to pay an open invoice."""

    use_card_on_file = forms.BooleanField(required=False, label="Pay with the card on file")
    card = forms.CharField(
        label="Card number", required=False, max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )


class BillingDetailsForm(forms.ModelForm):
    """The account's billing details, as its invoices will show them (from the next one on), and
    its billing contacts (issue 14: up to 5 addresses that receive the money emails)."""

    billing_contacts = forms.CharField(
        label="Billing contacts", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Up to 5 email addresses, one a line (accounts payable, your accountant): they "
                  "receive invoices, receipts, payment reminders and renewal notices beside the "
                  "Admins and Billing members.",
    )

    class Meta:
        model = BillingDetails
        fields = ["legal_name", "address_line1", "address_line2", "city", "postal_code", "region",
                  "country", "tax_id", "po_number"]

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country")
        if cleaned.get("tax_id") and country:
            try:
                cleaned["tax_id"] = tax_id_normalise(country=str(country), tax_id=cleaned["tax_id"])
            except TaxIdError as error:
                self.add_error("tax_id", str(error))
        try:
            cleaned["billing_contacts"] = billing_contacts_clean(cleaned.get("billing_contacts") or "")
        except ServiceError as error:
            self.add_error("billing_contacts", str(error))
        return cleaned
