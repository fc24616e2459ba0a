"""The identity fold (PRODUCT.md, "Licensing": identity): the ASCII fast path answers exactly as
the general rule (NFC, then simple lower-casing character by character, then trimmed)."""

import string
import unicodedata

from licensing.identity import identity_fold


def general_rule(value):
    text = unicodedata.normalize("NFC", value)
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text).strip()


def test_ascii_fast_path_is_the_general_rule():
    samples = [string.printable, " EVA ", "Bob\t", "ACME\\eva", "\x00x", "\x1fY\x7f", "", "  "]
    samples += [chr(c) * 3 for c in range(128)]
    for value in samples:
        assert identity_fold(value) == general_rule(value), repr(value)


def test_non_ascii_keeps_the_windows_rules():
    assert identity_fold("A\u0308RGER") == "ärger"  # NFC first, then lower case
    assert identity_fold("STRASSE") != identity_fold("straße")  # no full case folding
    assert identity_fold("ＥＶＡ") != identity_fold("EVA")  # no compatibility folding
    assert identity_fold("İ") == "İ"  # its lower case is two characters: kept
    assert identity_fold("ΟΔΟΣ") == "οδοσ"  # character by character: no final-sigma rule
