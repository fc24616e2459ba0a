"""Which tax applies to an account's purchases (issue 14, item 3), from a table we own.

The rule, in one place (``tax_rule_for``):

1. No billing details: no tax line (we do not know where the buyer is; the cart asks for them).
2. An EU buyer with a valid VAT number (``billing.tax_ids``, checked by format when saved and
   here again) in another member state than the seller's (``settings.SELLER["country"]``): the
   reverse charge. Tax 0, and the invoice says "Reverse charge: VAT to be accounted for by the
   recipient".
3. Otherwise the ``TaxRate`` of the billing country and state (its code, case-insensitive), else
   of the whole country; none: no tax line.

The rate applies to every line (all our lines are one kind of supply: software as a service);
the tax line's amount is the lines' sum x percent, rounded once (``billing.pricing``). Orders and
invoices copy name, percent, country and amount (``TaxedTotals``): a rate edited later changes
only what is priced after.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from billing import pricing
from billing.models import REVERSE_CHARGE_NOTE, BillingDetails, TaxRate, tax_label
from billing.tax_ids import EU_VAT_PREFIXES, TaxIdError, tax_id_normalise

__all__ = ["REVERSE_CHARGE_NOTE", "TAX_FIELDS", "TaxRule", "tax_rule_for"]

NO_DETAILS_NOTE = "Tax depends on where you are: add your billing details (/billing/details/) to see it."


def seller_country() -> str:
    return str(settings.SELLER.get("country") or "US").upper()


@dataclass(frozen=True)
class TaxRule:
    """What applies to an account's next purchase; ``charge`` prices it on a subtotal."""

    name: str = ""  # empty: no tax line
    percent: Decimal = Decimal(0)
    country: str = ""
    region: str = ""
    reverse_charge: bool = False
    known_buyer: bool = True  # False: no billing details yet

    def amount_cents(self, taxable_cents: int) -> int:
        if not self.name or self.reverse_charge:
            return 0
        return pricing.tax_amount_cents(taxable_cents=taxable_cents, percent=self.percent)

    @property
    def label(self) -> str:
        return tax_label(name=self.name, percent=self.percent, country=self.country,
                         reverse_charge=self.reverse_charge) if self.name else ""

    @property
    def note(self) -> str:
        if self.reverse_charge:
            return REVERSE_CHARGE_NOTE
        return "" if self.known_buyer else NO_DETAILS_NOTE

    def fingerprint(self) -> str:
        return f"{self.name}|{self.percent:.2f}|{self.country}|{self.region}|{self.reverse_charge}"

    def copy_to(self, target, *, tax_cents: int):
        """Snapshots the rule onto an order or invoice (``TaxedTotals``)."""
        target.tax_name, target.tax_percent = self.name, self.percent
        target.tax_country, target.tax_region = self.country, self.region
        target.reverse_charge, target.tax_cents = self.reverse_charge, tax_cents


TAX_FIELDS = ["tax_name", "tax_percent", "tax_country", "tax_region", "reverse_charge", "tax_cents"]


def _valid_eu_vat(*, country: str, tax_id: str) -> bool:
    if not tax_id or country.lower() not in EU_VAT_PREFIXES:
        return False
    try:
        return bool(tax_id_normalise(country=country, tax_id=tax_id))
    except TaxIdError:
        return False


def tax_rule_for(*, account, details=None) -> TaxRule:
    """The one rule (module docstring). Two queries: the billing details (unless passed) and
    the rates of that country."""
    if details is None:
        details = BillingDetails.objects.filter(account=account).first()
    if details is None or not details.country:
        return TaxRule(known_buyer=False)
    country = str(details.country).upper()
    region = (details.region or "").strip()
    rates = {rate.region.upper(): rate for rate in TaxRate.objects.filter(country=country)}
    rate = rates.get(region.upper()) if region else None
    rate = rate or rates.get("")
    if country != seller_country() and _valid_eu_vat(country=country, tax_id=details.tax_id):
        return TaxRule(name=rate.name if rate else "VAT", percent=Decimal(0), country=country,
                       region="", reverse_charge=True)
    if rate is None:
        return TaxRule(country=country)
    return TaxRule(name=rate.name, percent=rate.percent, country=country, region=rate.region)
