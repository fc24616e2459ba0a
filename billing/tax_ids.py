"""Tax ids checked by the format (and check digits) of the buyer's country, by python-stdnum.

- EU member states: a VAT number with its country's prefix ("DE136695976"; Greece is "EL").
  Typed without the prefix, the country's prefix is added. A number with another member
  state's prefix is refused: the VAT id must belong to the billing country.
- United States: an EIN ("12-3456789").
- Other countries python-stdnum knows a VAT-like number for (GB, CH, NO, AU, CA's BN, ...):
  that module's check.
- Anywhere else: 3 to 40 letters, digits, spaces, dots, dashes or slashes, kept as typed.

Format only: whether the number is registered (VIES) is not asked here.
"""

import re

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import ein

# The VAT prefix of each member state is its ISO code, except Greece (EL).
EU_VAT_PREFIXES = {cc: ("el" if cc == "gr" else cc) for cc in eu_vat.MEMBER_STATES}
FREE_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{2,39}$")


class TaxIdError(ValueError):
    pass


def tax_id_normalise(*, country: str, tax_id: str) -> str:
    """The tax id in its country's usual form, or a TaxIdError saying what is expected."""
    tax_id = (tax_id or "").strip()
    if not tax_id:
        return ""
    cc = (country or "").lower()
    if cc in EU_VAT_PREFIXES:
        prefix = EU_VAT_PREFIXES[cc]
        number = re.sub(r"[\s./-]", "", tax_id).upper()
        if not number[:2].isalpha():
            number = prefix.upper() + number
        if number[:2].lower() != prefix:
            raise TaxIdError(
                f"A VAT number for this country starts with {prefix.upper()} (got {number[:2]})."
            )
        try:
            return eu_vat.validate(number)
        except StdnumError:
            raise TaxIdError(
                f"This is not a valid {prefix.upper()} VAT number: check the digits."
            ) from None
    if cc == "us":
        try:
            return ein.format(ein.validate(tax_id))
        except StdnumError:
            raise TaxIdError("A US tax id is an EIN of 9 digits, such as 12-3456789.") from None
    module = _country_module(cc)
    if module is not None:
        try:
            return module.validate(tax_id)
        except StdnumError:
            raise TaxIdError("This is not a valid tax id for this country: check the digits.") from None
    if not FREE_FORMAT.match(tax_id):
        raise TaxIdError("A tax id is 3 to 40 letters, digits, spaces, dots, dashes or slashes.")
    return tax_id


def _country_module(cc):
    if not re.fullmatch(r"[a-z]{2}", cc):
        return None
    return get_cc_module(cc, "vat")  # None when python-stdnum has none for the country
