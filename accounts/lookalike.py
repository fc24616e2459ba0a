"""Text that looks like other text: mixed scripts, invisible characters (issue 11, item 4).

Latin ``Eva``, ``Еva`` with a Cyrillic Е and ``Eva`` followed by a zero-width space are three
different strings (three logons, three tracked users; three emails) that read the same. Nothing
here changes what is counted or who logs in: it says what a reader cannot see, for pages to
mark and for staff to review. Used by licensing (the Users pages) and accounts (sign-up and
invitations flag mixed-script names and emails to staff). docs/security.md, "Look-alikes".
"""

import unicodedata
from typing import NamedTuple

# Characters that take no visible room: format characters (zero-width space, joiners, word
# joiner, BOM, soft hyphen, bidi controls), controls, and the fillers that render as blank.
FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u180e"}

# The common Cyrillic and Greek letters that read as Latin ones (a subset of Unicode's
# confusables, enough for names): the skeleton that tells two look-alikes apart from others.
_LATIN_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y",
})


def is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Cc") or ch in FILLERS or (
        unicodedata.category(ch) == "Zs" and ch != " "
    )


def script_of(ch: str) -> str | None:
    """The script of a letter, read from its Unicode name (LATIN, CYRILLIC, GREEK...); None
    for anything that is not a letter (digits, punctuation, spaces belong to every script)."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("FULLWIDTH LATIN") or name.startswith("HALFWIDTH"):
        return "LATIN" if "LATIN" in name else name.split()[1]
    return name.split(" ", 1)[0] or None


def scripts_of(text: str) -> list[str]:
    return sorted({s for s in map(script_of, text) if s})


def code_points(text: str) -> str:
    """``U+0045 U+0076 U+0061``: every character, so a reader sees what the glyphs hide."""
    return " ".join(f"U+{ord(ch):04X}" for ch in text)


class Lookalike(NamedTuple):
    mixed_scripts: list[str]  # the scripts when more than one, else []
    invisible: list[str]  # "U+200B ZERO WIDTH SPACE", ...
    code_points: str

    @property
    def flagged(self) -> bool:
        return bool(self.mixed_scripts or self.invisible)

    def describe(self) -> str:
        parts = []
        if self.mixed_scripts:
            parts.append("mixes scripts: " + ", ".join(s.title() for s in self.mixed_scripts))
        if self.invisible:
            parts.append("invisible characters: " + ", ".join(self.invisible))
        return "; ".join(parts)


def lookalike(text: str) -> Lookalike:
    scripts = scripts_of(text)
    invisible = sorted({
        f"U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED')}" for ch in text if is_invisible(ch)
    })
    return Lookalike(scripts if len(scripts) > 1 else [], invisible, code_points(text))


def skeleton(text: str) -> str:
    """What ``text`` looks like: compatibility forms folded, case folded, invisible characters
    dropped, Cyrillic and Greek look-alike letters read as Latin. Two different strings with one
    skeleton are look-alikes."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not is_invisible(ch)).translate(_LATIN_LOOKALIKES)


def _words(text: str) -> list[str]:
    """Runs of letters and marks (with invisible characters inside them): the units inside
    which one script is expected. Spaces, digits, ``@``, ``.`` and other punctuation split."""
    words, current = [], []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in "LM" or (is_invisible(ch) and current):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def lookalike_reason(text: str) -> str:
    """Why ``text`` (an organisation name, an email) deserves a look from staff, or "". Two
    scripts in one word (``Аcme`` with a Cyrillic А) and invisible characters anywhere are
    flagged; a name whose words are each of one script (``Acme Россия``) is not."""
    reasons = []
    for word in _words(text):
        scripts = scripts_of(word)
        if len(scripts) > 1:
            reasons.append(
                f"'{word}' mixes scripts ({', '.join(s.title() for s in scripts)}: {code_points(word)})"
            )
    invisible = lookalike(text).invisible
    if invisible:
        reasons.append("invisible characters: " + ", ".join(invisible))
    return "; ".join(reasons)
