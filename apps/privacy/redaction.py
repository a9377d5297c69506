"""PII redaction: finds personal data in free text and swaps it for typed placeholders such as ``[EMAIL]``.

Pure Python and ``re``; no model, so only what a pattern (and, where one exists, a check digit) can prove:

- EMAIL: addresses, also the "carl (at) example (dot) com", "carl at example dot com" and "carl.jensen at
  example.com" spellings (a bare "at" only after a mailbox-shaped word, so "log in at example.com" is left alone).
- PHONE: international numbers (+ or 00) and national ones that start with the trunk 0 (UK, DE, FR, NL, IE, IT
  landlines...) or have the North American 3-3-4 shape; a number without either shape counts only after a word
  such as "phone" or "mobile". Spanish or Italian mobiles written without +34/+39 and numbers spelled out in
  words are missed.
- CARD: 13-19 digit Luhn-valid numbers with a card network's first digit; a card ending ("ending 1234") is not PII.
- IBAN: ISO 13616 mod-97 check and the country's length, for the SEPA countries, GB and a few neighbours.
- IP: IPv4 and IPv6, validated by ``ipaddress``.
- NATIONAL_ID, only where a pattern with a check exists: US SSN, UK National Insurance number, Spanish DNI/NIE,
  Italian codice fiscale, Dutch BSN (after "BSN"/"burgerservicenummer") and French NIR. Other countries' ids
  (German Steuer-ID, passports, driving licences...) are not detected.
- NAME: only the customer's own name(s) passed in ``names`` (the full name, each word and each part of a
  hyphenated one, case-insensitive and with or without accents; a lowercase particle such as "de" or "van"
  only inside the full name).
  There is no named-entity model here, so a third person's name is never found, and a name that is also a
  word ("Bill", "Rose") is redacted wherever the word appears.
"""

import ipaddress
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

PII_TYPES = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "NATIONAL_ID", "NAME")

# On overlap the more specific kind wins: a checksum or an @ proves more than a digit pattern or a name list.
_SPECIFICITY = {"EMAIL": 5, "IBAN": 5, "CARD": 5, "NATIONAL_ID": 5, "IP": 4, "PHONE": 3, "NAME": 2}

_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(PII_TYPES) + r")\]")

# ISO 13616 lengths: the SEPA countries and GB, plus a few neighbours customers bank with.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
    "AL": 28, "BA": 20, "ME": 22, "MK": 19, "RS": 22, "TR": 26, "UA": 29, "XK": 20,
}  # fmt: skip


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str
    text: str


# --- EMAIL ---------------------------------------------------------------------------------------------------

# local@domain.tld with plus tags and any depth of subdomains; not glued to a longer token on either side.
_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_TLDS = r"(?:com|net|org|info|io|eu|uk|co|de|fr|es|it|nl|be|ie|at|ch|dk|se|no|fi|pl|pt|me)"
_DOT_WORD = r"(?:\s+dot\s+|\s*[(\[{]dot[)\]}]\s*)"
_DOT_ANY = rf"(?:\.|{_DOT_WORD})"
# "carl (at) example (dot) com": a bracketed "at" is deliberate, so any dot spelling may follow it.
_EMAIL_BRACKETED = re.compile(
    rf"(?<![\w.])[a-z0-9_%+-]+(?:{_DOT_ANY}[a-z0-9_%+-]+)*\s*[(\[{{]at[)\]}}]\s*"
    rf"[a-z0-9-]+(?:{_DOT_ANY}[a-z0-9-]+)*?{_DOT_ANY}{_TLDS}(?!\w)",
    re.IGNORECASE,
)
# "carl at example dot com": a bare "at" is ordinary English ("log in at example.com"), so the domain must
# spell its dots out too.
_EMAIL_SPELLED = re.compile(
    rf"(?<![\w.])[a-z0-9_%+-]+(?:{_DOT_ANY}[a-z0-9_%+-]+)*\s+at\s+"
    rf"[a-z0-9-]+(?:{_DOT_WORD}[a-z0-9-]+)*?{_DOT_WORD}{_TLDS}(?!\w)",
    re.IGNORECASE,
)


# "olivia.bennett at outlook.com": a bare "at" before a dotted domain is an address when the part before it is
# shaped like a mailbox (words joined by "." or "_", or letters then digits), which "log in at" never is.
_EMAIL_BARE_AT = re.compile(
    rf"(?<![\w.])[a-z][a-z0-9%+-]*(?:[._][a-z0-9%+-]+)+\s+at\s+[a-z0-9-]+(?:\.[a-z0-9-]+)*?\.{_TLDS}(?![\w.]\w|\w)"
    rf"|(?<![\w.])[a-z][a-z_%+-]*\d+\s+at\s+[a-z0-9-]+(?:\.[a-z0-9-]+)*?\.{_TLDS}(?![\w.]\w|\w)",
    re.IGNORECASE,
)


def _emails(text: str) -> Iterable[tuple[int, int]]:
    for pattern in (_EMAIL, _EMAIL_BRACKETED, _EMAIL_SPELLED, _EMAIL_BARE_AT):
        for match in pattern.finditer(text):
            yield match.span()


# --- IBAN ----------------------------------------------------------------------------------------------------

# Country, check digits, then alphanumerics with or without spaces; trimmed to the country's length below.
_IBAN_SHAPE = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}+", re.IGNORECASE)


def iban_valid(compact: str) -> bool:
    """ISO 13616: letters become 10..35, the first four characters move to the end, the number mod 97 is 1."""
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _iban_candidates(text: str) -> Iterable[tuple[int, int, bool]]:
    """(start, end, valid) of every IBAN-shaped run of a known country, valid or not."""
    position = 0
    # search, not finditer: the shape runs on into the next words, and the scan resumes where the IBAN ends.
    while match := _IBAN_SHAPE.search(text, position):
        position = match.start() + 1
        length = IBAN_LENGTHS.get(match.group()[:2].upper())
        offsets = [i for i, char in enumerate(match.group()) if char != " "]
        if length is None or len(offsets) < length:
            continue
        end = match.start() + offsets[length - 1] + 1
        if end < len(text) and text[end].isalnum():
            continue  # the run goes on past the country's length: some other code, not an IBAN
        position = end
        yield match.start(), end, iban_valid(text[match.start() : end].replace(" ", "").upper())


# --- CARD ----------------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w.,/-])\d(?:[ -]?\d){12,18}(?![\w]|[.,/-]?\d)")
_CARD_GROUPS = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card_grouping_plausible(candidate: str) -> bool:
    # Printed cards group as 4-4-4-4(-3), 4-6-5 or 4-6-4; one separator kind throughout.
    if "-" in candidate and " " in candidate:
        return False
    groups = _CARD_GROUPS.split(candidate)
    return len(groups) == 1 or (len(groups[0]) == 4 and all(3 <= len(group) <= 6 for group in groups[1:-1]))


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        # 2-6 are the card networks' first digits (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/Maestro 6).
        plausible = digits[0] in "23456" and _card_grouping_plausible(match.group())
        if plausible and luhn_valid(digits) and not _reference_before(text, match.start()):
            yield match.span()


# --- IP ------------------------------------------------------------------------------------------------------

# Four dotted octets, not part of a longer dotted number ("1.2.3.4.5" is a version).
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?(?![\w:])", re.I)
# "version 4.2.0.1", "build 10.0.0.12" and "the 4.2.0.1 update" are four dotted numbers that are not addresses.
_VERSION_BEFORE = re.compile(r"\b(?:v|ver|version|build|release|firmware|update|app|ios|android)\.?\s*$", re.I)
_VERSION_AFTER = re.compile(r"\s*(?:update|release|build|version|firmware)\b", re.I)


def _ips(text: str) -> Iterable[tuple[int, int]]:
    for match in _IPV4.finditer(text):
        version_before = _VERSION_BEFORE.search(text, max(0, match.start() - 20), match.start())
        version_after = _VERSION_AFTER.match(text, match.end())
        if not version_before and not version_after and _ip_valid(match.group(), ipaddress.IPv4Address):
            yield match.span()
    for match in _IPV6.finditer(text):
        # The 2+ colons and a digit keep "10:30:00" (no ::) and words like "add::" out before validation.
        if any(char.isdigit() for char in match.group()) and _ip_valid(match.group(), ipaddress.IPv6Address):
            yield match.span()


def _ip_valid(candidate: str, parse: Callable[[str], object]) -> bool:
    try:
        parse(candidate)
    except ValueError:
        return False
    return True


# --- NATIONAL_ID ---------------------------------------------------------------------------------------------

# US SSN AAA-GG-SSSS: area not 000, 666 or 9xx, group not 00, serial not 0000. Undashed only after "SSN".
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_SSN_KEYWORD = re.compile(
    r"\b(?:SSN|social security(?: number)?)\b[^\d\n]{0,20}?((?!000|666|9\d\d)\d{3} ?(?!00)\d{2} ?(?!0000)\d{4})(?!\w)",
    re.I,
)
# UK NINO: first letter not D F I Q U V, second not D F I O Q U V, never BG GB KN NK NT TN ZZ; suffix A-D.
_NINO = re.compile(
    r"(?<!\w)(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?:\d{6}|(?: \d{2}){3} ?)[A-D](?!\w)", re.I
)
# Spanish DNI (8 digits) and NIE (X/Y/Z + 7 digits): the letter is the number mod 23 in this table.
_DNI = re.compile(r"(?<![\w-])([XYZ]?)[ -]?(\d{7,8})[ -]?([A-Z])(?!\w)", re.I)
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# Italian codice fiscale: 6 letters, birth date and place (digits or their omocodia letters), a check letter.
_OMOCODE = "[0-9LMNP-V]"
_CODICE_FISCALE = re.compile(
    rf"(?<!\w)[A-Z]{{6}}{_OMOCODE}{{2}}[ABCDEHLMPRST]{_OMOCODE}{{2}}[A-Z]{_OMOCODE}{{3}}[A-Z](?!\w)", re.I
)
# The check letter sums a value per character: these for odd positions (1st, 3rd...), the plain value for even.
_CF_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)
_CF_ODD_VALUES = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _CF_ODD, strict=True))
# Dutch BSN: nine digits passing the 11-test; only after "BSN", since nine bare digits are as often a phone. Up to
# 40 characters after it: Dutch puts a clause between ("mijn BSN staat op de brief van de gemeente: ...").
_BSN = re.compile(r"\b(?:BSN|burgerservicenummer)\b[^\d\n]{0,40}?(\d{4}\.?\d{2}\.?\d{3}|\d{3} \d{3} \d{3})(?!\w)", re.I)
# French NIR: sex, year, month, department (2A/2B in Corsica), commune, order, then key = 97 - number mod 97.
_NIR = re.compile(r"(?<![\w-])[12]( ?)\d{2}\1\d{2}\1(?:\d{2}|2[AB])\1\d{3}\1\d{3}\1\d{2}(?![\w-])", re.I)


def _dni_valid(match: re.Match[str]) -> bool:
    prefix, digits, letter = match.group(1).upper(), match.group(2), match.group(3).upper()
    if len(digits) != (7 if prefix else 8):
        return False
    number = int(str("XYZ".index(prefix)) + digits) if prefix else int(digits)
    return _DNI_LETTERS[number % 23] == letter


def _codice_fiscale_valid(code: str) -> bool:
    # A digit counts as the letter at its index (0 as A, 1 as B...) in both tables.
    letters = [chr(65 + int(char)) if char.isdigit() else char for char in code.upper()]
    total = sum(_CF_ODD_VALUES[char] if i % 2 == 0 else ord(char) - 65 for i, char in enumerate(letters[:15]))
    return chr(65 + total % 26) == letters[15]


def _bsn_valid(digits: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return len(digits) == 9 and sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


def _nir_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    body = compact[:13].replace("2A", "19", 1).replace("2B", "18", 1) if compact[5:7] in ("2A", "2B") else compact[:13]
    return 97 - int(body) % 97 == int(compact[13:])


def _national_ids(text: str) -> Iterable[tuple[int, int]]:
    yield from (match.span() for match in _SSN.finditer(text))
    yield from (match.span(1) for match in _SSN_KEYWORD.finditer(text))
    yield from (match.span() for match in _NINO.finditer(text))
    yield from (match.span() for match in _DNI.finditer(text) if _dni_valid(match))
    yield from (match.span() for match in _CODICE_FISCALE.finditer(text) if _codice_fiscale_valid(match.group()))
    for match in _BSN.finditer(text):
        if _bsn_valid(re.sub(r"\D", "", match.group(1))):
            yield match.span(1)
    yield from (match.span() for match in _NIR.finditer(text) if _nir_valid(match.group()))


# --- PHONE ---------------------------------------------------------------------------------------------------

# Digit groups joined by one space, dot or dash, with optional "+" and "(0)"/"(415)" parts; never glued to a
# longer token, nor followed by more digits after a separator (so a date or an amount is not cut in two).
_PHONE = re.compile(
    r"(?<![\w+.,/\-])(?:\+ ?)?(?:\(\+?\d{1,5}\)|\d+)(?:(?:[ \u00a0.\-]|(?<=\)))(?:\(\d{1,5}\)|\d+))*+(?!\w|[.,:/\-]?\d)"
)
# Reference numbers: "order no. 0123 456 789", "tracking #: 0845...", "ticket 4155550132".
_REFERENCE_BEFORE = re.compile(
    r"\b(?:order|ref|reference|transaction|txn|tracking|invoice|case|ticket|parcel|shipment|consignment|account"
    r"|acct|policy|booking|confirmation|receipt|claim|serial|imei|customer|member|membership|loan|contract"
    r"|mandate|payment|voucher|code)s?\b(?:\s*(?:no|nr|number|num|id|is|was|[#:.,-]))*\s*$",
    re.I,
)
# A number after one of these words is someone's phone even without a trunk 0 or a + (e.g. "móvil 612 345 678").
_PHONE_WORD_BEFORE = re.compile(
    r"\b(?:phone|telephone|tel|mobile|mob|cell|call|ring|text|whatsapp|sms|landline|móvil|movil|teléfono|telefono"
    r"|telefon|handy|portable|cellulare)\b[^\d\n]{0,25}$",
    re.I,
)
_CURRENCY_BEFORE = re.compile(r"(?:[£$€¥]|\b(?:EUR|USD|GBP|CHF|SEK|DKK|NOK|PLN))\s?$", re.I)
_CURRENCY_AFTER = re.compile(r"\s?(?:[£$€¥]|(?:EUR|USD|GBP|CHF|SEK|DKK|NOK|PLN|euros?|pounds?|dollars?)\b)", re.I)
_DATE_INSIDE = re.compile(r"(?:19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:19|20)\d{2}")
_LOOKBEHIND = 40


def _reference_before(text: str, start: int) -> bool:
    return _REFERENCE_BEFORE.search(text, max(0, start - _LOOKBEHIND), start) is not None


def _phone_shape_plausible(candidate: str, after_phone_word: bool) -> bool:
    groups = re.findall(r"\d+", candidate)
    digits = "".join(groups)
    if candidate.startswith(("+", "(+", "00")):
        # E.164 allows 15 digits after the country code's + (the 00 is the + dialled from a landline).
        return 9 <= len(digits.removeprefix("00") if candidate.startswith("00") else digits) <= 15
    if not 9 <= len(digits) <= 12:
        return False
    # Four 1-3 digit groups joined by dots is an IP address (valid or not), four-digit groups a card-like code.
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", candidate) or (len(groups) > 2 and {len(g) for g in groups} == {4}):
        return False
    if digits.startswith("0") or after_phone_word:
        return True  # the trunk prefix of most European national numbers
    return _north_american(digits, [len(group) for group in groups])


def _north_american(digits: str, group_lengths: list[int]) -> bool:
    # NANP: [1] + area code + exchange, both starting 2-9, written 3-3-4 (or all in one run).
    national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    shapes = ([3, 3, 4], [1, 3, 3, 4], [len(digits)])
    return len(national) == 10 and national[0] in "23456789" and national[3] in "23456789" and group_lengths in shapes


def _phones(text: str, blocked: list[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    for match in _PHONE.finditer(text):
        start, end = match.span()
        if any(start < b_end and b_start < end for b_start, b_end in blocked) or _DATE_INSIDE.search(match.group()):
            continue
        if _reference_before(text, start) or _CURRENCY_BEFORE.search(text, max(0, start - 5), start):
            continue
        if _CURRENCY_AFTER.match(text, end):
            continue
        after_phone_word = _PHONE_WORD_BEFORE.search(text, max(0, start - _LOOKBEHIND), start) is not None
        if _phone_shape_plausible(match.group(), after_phone_word):
            yield start, end


# --- NAME ----------------------------------------------------------------------------------------------------


# Surname particles written in lowercase ("de la Fuente", "van Dijk") are everyday words ("número de pedido",
# "de brief van de gemeente"): a name only inside the full one. "Van Morrison" or "Minh Le" keep theirs.
_NAME_PARTICLES = frozenset(
    {"da", "das", "de", "del", "della", "der", "des", "di", "do", "dos", "du", "la", "le", "ten", "ter", "van", "von"}
)


def _name_parts(name: str) -> list[str]:
    """Each word of 2+ letters, and each part of a hyphenated one, except lowercase particles after the first."""
    words = name.split()
    pieces = words + [part for word in words if "-" in word for part in word.split("-")]
    particles = _NAME_PARTICLES.intersection(pieces[1:])  # case-sensitive: "Le" stays a name
    return [p for p in pieces if sum(c.isalpha() for c in p) >= 2 and p not in particles]


def _accent_tolerant(word: str) -> str:
    """A pattern for the word that also matches it typed without its accents ("Chloé" as "Chloe")."""
    pieces = []
    for char in word:
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        pieces.append(f"[{char}{plain}]" if len(plain) == 1 and plain != char else re.escape(char))
    return "".join(pieces)


@lru_cache(maxsize=256)
def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """The full names, their words and hyphen parts of 2+ letters, longest first so "Carl Jensen" beats "Carl"."""
    variants: set[str] = set()
    for name in names:
        parts = _name_parts(name)
        if parts:
            variants.add(r"\s+".join(_accent_tolerant(part) for part in name.split()))
            variants.update(_accent_tolerant(part) for part in parts)
    if not variants:
        return None
    # Word boundaries keep "Ann" out of "annual"; "Carl's" still matches, the apostrophe not being a word char.
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(variants, key=len, reverse=True)) + r")(?!\w)", re.I)


def _names(text: str, names: tuple[str, ...]) -> Iterable[tuple[int, int]]:
    pattern = _name_pattern(names)
    if pattern is not None:
        yield from (match.span() for match in pattern.finditer(text))


# --- Public API ----------------------------------------------------------------------------------------------


def _candidates(text: str, names: tuple[str, ...]) -> list[tuple[int, int, str]]:
    ibans = list(_iban_candidates(text))
    # An IBAN-shaped run with a bad checksum is still a bank code: its digits are no phone or card.
    blocked = [(start, end) for start, end, _valid in ibans]
    found = [(start, end, "IBAN") for start, end, valid in ibans if valid]
    found += [(start, end, "EMAIL") for start, end in _emails(text)]
    national_ids = list(_national_ids(text))
    # A 15-digit French NIR passes Luhn one time in ten; its key (mod 97) is the stronger proof, and no card
    # network issues 15-digit numbers starting with 1 or 2.
    cards = [(start, end) for start, end in _cards(text) if (start, end) not in national_ids]
    found += [(start, end, "CARD") for start, end in cards if not _overlaps(start, end, blocked)]
    found += [(start, end, "IP") for start, end in _ips(text)]
    found += [(start, end, "NATIONAL_ID") for start, end in national_ids]
    found += [(start, end, "PHONE") for start, end in _phones(text, blocked)]
    found += [(start, end, "NAME") for start, end in _names(text, names)]
    return found


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in spans)


def pii_find(text: str, *, names: Iterable[str] = ()) -> list[PiiSpan]:
    """Non-overlapping PII spans sorted by start; on overlap the more specific kind wins, then the longer span.

    Existing placeholders ("[EMAIL]") are never matched, so redacting twice gives the same text as once.
    """
    if not text:
        return []
    taken = [match.span() for match in _PLACEHOLDER.finditer(text)]
    ranked = sorted(_candidates(text, tuple(names)), key=lambda c: (-_SPECIFICITY[c[2]], c[0] - c[1], c[0]))
    spans = []
    for start, end, kind in ranked:
        if not _overlaps(start, end, taken):
            taken.append((start, end))
            spans.append(PiiSpan(start=start, end=end, kind=kind, text=text[start:end]))
    return sorted(spans, key=lambda span: span.start)


def pii_redact(text: str, *, names: Iterable[str] = ()) -> str:
    """The text with each PII span replaced by its kind's placeholder, e.g. "[EMAIL]"."""
    pieces, position = [], 0
    for span in pii_find(text, names=names):
        pieces += [text[position : span.start], f"[{span.kind}]"]
        position = span.end
    return "".join([*pieces, text[position:]])


def redact_text(text: str, *, names: Iterable[str] = ()) -> str:
    """The preprocessing hook (settings.HELPDESK_REDACTOR = "apps.privacy.redaction.redact_text")."""
    return pii_redact(text, names=names)


class RedactingLogFilter(logging.Filter):
    """Formats each record's message with its args, redacts it, and clears the args; never drops a record.

    Tracebacks (exc_info) are left as they are.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A bad format string makes the handler print msg and args raw; redact both instead.
            message = f"{record.msg} {record.args}"
        record.msg = redact_text(message)
        record.args = ()
        return True
