"""Writes ``bench/data/pii_messages.jsonl``: customer-service chat messages with labelled PII, for ``bench.pii``.

``python -m bench.pii_data`` rewrites the file; a fixed seed makes it the same on every run. Each message comes
from a template (banking, shopping, telecom, travel; English and Spanish, French, German, Dutch, Italian) whose
slots are filled with generated values, so offsets are computed, never typed. Every value that carries a check
in real life has a valid one, computed here independently of the redactor: Luhn for cards and IMEIs, mod-97 for
IBANs (and the Spanish, French, Belgian and Italian national account checks), the DNI/NIE letter, the codice
fiscale's check letter, the BSN 11-test, the NIR key, the Steuer-ID's and the PPS number's check characters.

Annotation guideline (what a human marks, whatever the redactor does):

- EMAIL, PHONE, IBAN, CARD, IP: every one, whoever's it is (a scammer's number, a partner's address, the
  payee's IBAN, the company's helpline), obfuscated spellings included ("maria (at) gmail (dot) com", a number
  in words).
- NATIONAL_ID: any national identity or tax number: SSN, NINO, DNI/NIE, codice fiscale, BSN, NIR, and also the
  German Steuer-ID and the Irish PPS number, which the redactor does not know.
- NAME: the customer's own name wherever it stands (a full name is one span, a part alone its own span), also
  when the desk does not know it (``names`` empty) or it is written differently (no accent, a nickname). Other
  people's names (agents, partners, payees) are not labelled: the redactor is only ever given the customer's.
- Not PII here: amounts, dates, times, order, invoice, tracking and booking references, card endings, sort
  codes, postcodes, versions, IMEIs, percentages, quantities.
"""

import json
import random
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "pii_messages.jsonl"
SEED = 20241203
KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "NATIONAL_ID", "NAME")
COPIES = 2  # messages per template, each with another customer and other values


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    female: bool = False
    nick: str = ""

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def _people(spec: str) -> list[Customer]:
    """Parses "Maria Lopez f; Carl Jensen" into customers; the first word is the given name, the rest the surname."""
    people = []
    for entry in spec.split(";"):
        words = entry.split()
        female = words[-1] == "f"
        words = words[:-1] if female else words
        people.append(Customer(words[0], " ".join(words[1:]), female))
    return people


CUSTOMERS = {
    "en": _people(
        "Maria Lopez f; Carl Jensen; Priya Shah f; Tom Whitaker; Ann Hughes f; Daniel Okafor; Emily Carter f; "
        "James O'Connor; Hannah Price f; Olivia Bennett f; Kwame Mensah; Sarah-Jane Moss f; Wei Chen; "
        "Fatima Rahman f; Grace Holloway f; Liam Murphy; Rob Sutherland; Zainab Ali f"
    ),
    "us": _people("Jessica Miller f; Tyler Brooks; Ashley Nguyen f; Marcus Johnson; Dana Kowalski f; Kevin Park"),
    "ie": _people("Aoife Byrne f; Ciarán Walsh; Niamh Kelly f; Seán Doyle"),
    "es": _people("Javier Ortega; Lucía Fernández f; Carmen Ruiz f; Alejandro de la Fuente; Pablo Sánchez"),
    "fr": _people("Chloé Dubois f; Julien Moreau; Camille Lefèvre f; Antoine Girard; Élodie Martin f"),
    "de": _people("Lukas Becker; Jürgen Weiß; Katrin Hoffmann f; Stefan Braun; Anna Schmidt f"),
    "nl": _people("Sanne de Vries f; Daan Janssen; Eva van Dijk f; Thijs Bakker"),
    "it": _people("Giulia Rossi f; Marco Bianchi; Francesca Romano f; Luca Esposito"),
}
CUSTOMERS["be"] = CUSTOMERS["fr"] + CUSTOMERS["nl"]
# Customers a template names itself ("en=Michael Brennan"), for what the pools would only hit by chance.
FIXED = {c.full: c for c in (Customer("Michael", "Brennan", nick="Mike"), Customer("Bill", "Foster"))}
FIXED["Chloé Dubois"] = CUSTOMERS["fr"][0]
# People who are not the customer: agents, partners, payees. None is a part of any customer's name.
OTHERS = ("Mr Patel", "Sophie", "Kevin from billing", "Mrs Okoye", "Jonathan", "Hassan", "Rebecca", "Dr Lindqvist")
AGENTS = ("Sam", "Priyanka", "Jordan", "Alex", "Niall", "Beatriz")

# Slots filled from a pattern: "#" is any digit, "@" a digit 1-9, "~" a literal "#". The kind marks the value as a
# gold span.
PATTERNS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "phone_uk": ("PHONE", ("+44 20 7946 0###", "020 7946 0###", "+44 (0)20 7946 0###", "0161 496 0###",
                           "0117 496 0###", "+44 131 496 0###")),
    "phone_uk_mobile": ("PHONE", ("07700 900###", "+44 7700 900###", "+447700900###", "07700-900-###",
                                  "0044 7700 900 ###", "079## ######", "+44 78## ######")),
    "phone_us": ("PHONE", ("(415) 555-01##", "212-555-01##", "310.555.01##", "+1 646 555 01##", "1-312-555-01##",
                           "+1 (617) 555-01##")),
    "phone_de": ("PHONE", ("+49 30 @######", "030 @#######", "+49 (0)89 @######", "0221 @######", "069 @#######")),
    "phone_de_mobile": ("PHONE", ("0151 @#######", "+49 176 @### ####", "0170 @## #####", "+49 160 @#######")),
    "phone_fr": ("PHONE", ("06 ## ## ## ##", "+33 6 ## ## ## ##", "01.@#.##.##.##", "+33 (0)1 @# ## ## ##",
                           "07########")),
    "phone_es_intl": ("PHONE", ("+34 6## ### ###", "+34 91 @## ## ##", "0034 6########", "+34 93 @## ## ##")),
    "phone_es_local": ("PHONE", ("6## ### ###", "6########", "6## ## ## ##")),
    "phone_nl": ("PHONE", ("+31 6 @#######", "06-@#######", "06 @# ## ## ##", "020 @## ####", "+31 (0)20 @## ####")),
    "phone_ie": ("PHONE", ("01 @## ####", "+353 1 @## ####", "021 @## ####")),
    "phone_ie_mobile": ("PHONE", ("087 @## ####", "+353 86 @## ####", "085 @######", "+353 83 @## ####")),
    "phone_it": ("PHONE", ("+39 347 ### ####", "+39 333 #######", "+39 349 @## ####", "+39 328 ### ####")),
    "phone_company": ("PHONE", ("0800 @## ####", "0345 @## ####", "1-800-555-01##", "0300 @## ####")),
    "phone_words": ("PHONE", ("oh seven seven double oh, nine double oh, four six one",
                              "zero seven nine one one, two three four five six seven")),
    "ipv4_private": ("IP", ("192.168.1.@#", "192.168.0.1@#", "10.0.0.@#", "192.168.178.@#")),
    "amount_gbp": (None, ("£@,###.##", "£@#.##", "£@##", "£@#", "£@##.##", "£@#.99")),
    "amount_eur": (None, ("€@.###,##", "@##,## €", "EUR @,###.00", "€@#", "@#,## EUR")),
    "amount_usd": (None, ("$@,###.##", "$@##.##", "USD @##", "$@#.99")),
    "time": (None, ("1@:30", "@:45", "@pm", "1@:@0", "@:15 pm", "1@h30", "0@:00", "@.30am")),
    "timestamp": (None, ("1@:2#:0#", "0@:4#:1#", "2@:0#:3#")),
    "order_ref": (None, ("~@######", "ORD-2024-######", "@##-#######-#######", "W@########", "A@#-#####")),
    "tracking": (None, ("JD0146000#########", "QF@########GB", "1Z@##AA1########", "JJD00@###############",
                        "0@############")),
    "invoice": (None, ("INV-@######", "RE-2024-#####", "FA@#######", "INV/2024/0####")),
    "ending": (None, ("@###", "#@##")),
    "pct": (None, ("@#.9%", "@%", "0.@%", "@.5 %", "2@.@% APR")),
    "sort_code": (None, ("@#-##-##",)),
    "case_ref": (None, ("CAS-@#####-X#K", "#@#######", "CS@######")),
    "receipt": (None, ("@###-####", "R-@#####")),
    "flight": (None, ("BA@##", "LH @###", "IB3@##", "AF 1@##", "KL@###", "FR @###", "EI 1@#", "AZ @##", "U2 8@##")),
}  # fmt: skip
CHOICES = {
    "postcode": ("SW1A 2AA", "M1 1AE", "EH1 3EG", "LS1 4DY", "D02 X285", "BS8 1TH", "CF10 1EP", "B1 1BB"),
    "postcode_us": ("Austin, TX 78701", "Portland, OR 97205", "Chicago, IL 60614", "Brooklyn, NY 11215"),
    "other": OTHERS,
    "agent": AGENTS,
    "city": ("Manchester", "Leeds", "Bristol", "Glasgow", "York", "Cardiff"),
    "seat": ("14C", "23A", "7F", "31B", "2D"),
    "plan": ("Unlimited 5G SIM-only", "Fibre 150", "Essentials 20GB", "Family Share 4 lines"),
    "router": ("Archer AX55, firmware 1.1.2 Build 20230612", "Hub 2 (firmware 4.7.5.1.83.8.57)", "FRITZ!Box 7590"),
    "email_other": ("j.patel82@gmail.com", "rebecca.lindqvist@outlook.com", "hassan.k@icloud.com",
                    "okoye.family@btinternet.com"),
}  # fmt: skip
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# Codice fiscale and the Italian CIN: characters at odd positions (1st, 3rd...) score from this table.
_ODD_SCORES = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)
ODD = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _ODD_SCORES, strict=True)) | dict(
    zip("0123456789", _ODD_SCORES, strict=False)
)
EVEN = {c: (int(c) if c.isdigit() else ord(c) - 65) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


# --- Checks --------------------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    doubled = [int(d) * (1 + i % 2) for i, d in enumerate(reversed(digits))]
    return sum(v - 9 if v > 9 else v for v in doubled) % 10 == 0


def iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def spanish_dc(digits: str) -> str:
    remainder = 11 - sum(int(d) * w for d, w in zip(digits, (1, 2, 4, 8, 5, 10, 9, 7, 3, 6), strict=True)) % 11
    return str({11: 0, 10: 1}.get(remainder, remainder))


def italian_check(code: str) -> str:
    return chr(65 + sum(ODD[c] if i % 2 == 0 else EVEN[c] for i, c in enumerate(code)) % 26)


def ascii_letters(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalpha())


def codice_fiscale(person: Customer, born: date, comune: str) -> str:
    def letters(word: str, given_name: bool) -> str:
        consonants = [c for c in ascii_letters(word).upper() if c not in "AEIOU"]
        vowels = [c for c in ascii_letters(word).upper() if c in "AEIOU"]
        if given_name and len(consonants) >= 4:
            consonants = [consonants[0], consonants[2], consonants[3]]
        return "".join([*consonants, *vowels, "X", "X", "X"][:3])

    day = born.day + (40 if person.female else 0)
    body = f"{letters(person.last, False)}{letters(person.first, True)}{born.year % 100:02d}"
    body += f"{'ABCDEHLMPRST'[born.month - 1]}{day:02d}{comune}"
    return body + italian_check(body)


# --- Values --------------------------------------------------------------------------------------------------


class Values:
    """Fills one message's slots for one customer."""

    def __init__(self, rng: random.Random, customer: Customer):
        self.rng, self.customer = rng, customer

    def digits(self, count: int, first: str = "0123456789") -> str:
        return self.rng.choice(first) + "".join(self.rng.choice("0123456789") for _ in range(count - 1))

    def pattern(self, shape: str) -> str:
        digits = {"#": "0123456789", "@": "123456789", "~": "#"}
        return re.sub("[#@~]", lambda m: self.rng.choice(digits[m.group()]), shape)

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def luhn(self, prefix: str, length: int) -> str:
        body = prefix + self.digits(length - len(prefix) - 1)
        return next(body + d for d in "0123456789" if luhn_ok(body + d))

    @staticmethod
    def grouped(digits: str, sizes: tuple[int, ...], sep: str = " ") -> str:
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return sep.join(digits[start : start + size] for start, size in zip(starts, sizes, strict=True))

    def card_number(self) -> str:
        prefix = self.pick("453998", "471604", "448590", "492918", "455673", "542523", "535522", "531100", "222100",
                           "272009", "601100")  # fmt: skip
        return self.luhn(prefix, 16)

    def card(self) -> str:
        return self.grouped(self.card_number(), (4, 4, 4, 4))

    def card_dashed(self) -> str:
        return self.grouped(self.card_number(), (4, 4, 4, 4), "-")

    def card_compact(self) -> str:
        return self.card_number()

    def card_amex(self) -> str:
        return self.grouped(self.luhn(self.pick("34", "37"), 15), (4, 6, 5))

    def bban(self, country: str) -> str:
        r = self.digits
        if country == "FR":
            bank, branch, account = self.pick("30004", "30003", "20041", "10107"), r(5), r(11)
            return f"{bank}{branch}{account}{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"
        if country == "ES":
            bank, branch, account = self.pick("2100", "0049", "0182", "2085"), r(4), r(10)
            return bank + branch + spanish_dc("00" + bank + branch) + spanish_dc(account) + account
        if country == "IT":
            body = self.pick("03069", "02008", "05034") + self.pick("01600", "11101", "09400") + r(12)
            return italian_check(body) + body
        if country == "BE":
            body = r(10, "0123456")
            return f"{body}{int(body) % 97 or 97:02d}"
        return {
            "GB": lambda: self.pick("NWBK", "BARC", "HBUK", "LOYD", "MIDL") + r(6) + r(8),
            "DE": lambda: self.pick("10070000", "37040044", "50010517", "20041133", "12030000") + r(10),
            "NL": lambda: self.pick("ABNA", "INGB", "RABO", "SNSB", "TRIO") + r(10),
            "IE": lambda: self.pick("AIBK931152", "BOFI900017", "IPBS990602") + r(8),
            "AT": lambda: self.pick("20111", "12000", "14000", "32000") + r(11),
        }[country]()

    def iban(self, country: str) -> str:
        compact = iban(country, self.bban(country))
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if self.rng.random() < 0.7 else compact

    def ipv4(self) -> str:
        first = self.pick("81", "86", "90", "92", "109", "151", "176", "185", "212", "217", "82", "94", "31", "62")
        return ".".join([first, *(str(self.rng.randint(1, 254)) for _ in range(3))])

    def hexes(self, count: int) -> list[str]:
        return [f"{self.rng.randint(0x100, 0xFFFF):x}" for _ in range(count)]

    def ipv6(self) -> str:
        prefix, groups = self.pick("2a02:c7c", "2a00:23c5", "2001:db8", "2a01:4b00", "2003:e8"), self.hexes(5)
        full = f"{prefix}:{':'.join(groups)}:{self.digits(3, '123456789')}"
        return self.pick(full, f"{prefix}:{groups[0]}::{groups[1]}", f"{prefix}:{groups[0]}:{groups[1]}::1")

    def ipv6_linklocal(self) -> str:
        one, two, three = self.hexes(3)
        return f"fe80::{one}:{two[:2]}ff:fe{two[2:]}:{three}"

    def ipv6_full(self) -> str:
        return ":".join(["2001", "0db8", *(f"{self.rng.randint(0, 0xFFFF):04x}" for _ in range(5)), self.digits(4)])

    def ssn_digits(self) -> str:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"

    def ssn(self) -> str:
        return self.grouped(self.ssn_digits(), (3, 2, 4), "-")

    def ssn_plain(self) -> str:
        return self.pick(self.ssn_digits(), self.grouped(self.ssn_digits(), (3, 2, 4)))

    def nino_compact(self) -> str:
        prefix = "GB"
        while prefix in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            prefix = self.pick(*"ABCEGHJKLMNOPRSTWXYZ") + self.pick(*"ABCEGHJKLMNPRSTWXYZ")
        return prefix + self.digits(6) + self.pick(*"ABCD")

    def nino(self) -> str:
        code = self.nino_compact()
        return self.pick(f"{code[:2]} {code[2:4]} {code[4:6]} {code[6:8]} {code[8]}", code)

    def dni(self) -> str:
        number = self.digits(8, "1234567")
        return self.pick("{}{}", "{}-{}").format(number, DNI_LETTERS[int(number) % 23])

    def nie(self) -> str:
        prefix, number = self.pick("X", "Y", "Z"), self.digits(7)
        letter = DNI_LETTERS[int(str("XYZ".index(prefix)) + number) % 23]
        return self.pick("{}{}{}", "{}-{}-{}").format(prefix, number, letter)

    def born(self) -> date:
        return date(1950, 1, 1) + timedelta(days=self.rng.randint(0, 18000))

    def cf(self) -> str:
        return codice_fiscale(self.customer, self.born(), self.pick("H501", "F205", "L219", "F839", "A944", "D612"))

    def bsn(self) -> str:
        check = 10
        while check > 9:  # the 11-test: 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11
            body = self.digits(8, "123456")
            check = sum(int(d) * w for d, w in zip(body, range(9, 1, -1), strict=True)) % 11
        number = body + str(check)
        return self.pick(number, f"{number[:4]}.{number[4:6]}.{number[6:]}", f"{number[:3]} {number[3:6]} {number[6:]}")

    def nir(self) -> str:
        born, department = self.born(), self.pick("75", "69", "13", "33", "59", "2A", "92", "44")
        body = f"{2 if self.customer.female else 1}{born.year % 100:02d}{born.month:02d}{department}{self.digits(6)}"
        key = 97 - int(body.replace("2A", "19").replace("2B", "18")) % 97
        return self.pick(self.grouped(f"{body}{key:02d}", (1, 2, 2, 2, 3, 3, 2)), f"{body}{key:02d}")

    def steuer_id(self) -> str:
        # Ten digits, one of them twice and one missing, then ISO 7064 MOD 11,10.
        first = self.pick(*"123456789")
        rest = self.rng.sample([d for d in "0123456789" if d != first], 8)
        rest.insert(self.rng.randint(0, 8), first)
        digits = [first, *rest]
        product = 10
        for d in digits:
            product = ((int(d) + product) % 10 or 10) * 2 % 11
        number = "".join(digits) + str((11 - product) % 10)
        return self.pick(self.grouped(number, (2, 3, 3, 3)), number)

    def ppsn(self) -> str:
        number = self.digits(7)
        total = sum(int(d) * w for d, w in zip(number, range(8, 1, -1), strict=True)) + 9 * 1  # the second letter A
        return f"{number}{'WABCDEFGHIJKLMNOPQRSTUV'[total % 23]}A"

    def imei(self) -> str:
        number = self.luhn("35" + self.digits(6), 15)
        return self.pick(number, f"{number[:2]}-{number[2:8]}-{number[8:14]}-{number[14]}")

    def ean13(self) -> str:
        prefix = self.pick("400", "401", "50", "54", "87", "80", "84")  # GS1 prefixes: DE, DE, UK, BE, NL, IT, ES
        body = prefix + self.digits(12 - len(prefix))
        return body + str(-sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10)

    def nonluhn16(self) -> str:
        while luhn_ok(number := self.digits(16, "45")):
            pass
        return self.pick(number, self.grouped(number, (4, 4, 4, 4)))

    def local_part(self) -> str:
        first, last = ascii_letters(self.customer.first).lower(), ascii_letters(self.customer.last).lower()
        numbered = f"{first}{last}{self.digits(2)}"
        return self.pick(f"{first}.{last}", f"{first[0]}.{last}", numbered, f"{first}_{last[0]}", f"{last}.{first}")

    def domain(self) -> str:
        return self.pick("gmail.com", "outlook.com", "yahoo.co.uk", "hotmail.fr", "web.de", "libero.it",
                         "icloud.com", "ziggo.nl", "btinternet.com", "gmx.de")  # fmt: skip

    def email(self) -> str:
        local, domain = self.local_part(), self.domain()
        return self.pick(f"{local}@{domain}", f"{local}+orders@{domain}", f"{local}@mail.{domain}")

    def email_spelled(self) -> str:
        local, (name, tld) = self.local_part(), self.domain().split(".", 1)
        return self.pick(f"{local} (at) {name} (dot) {tld.replace('.', ' (dot) ')}",
                         f"{local}[at]{name}[dot]{tld.replace('.', '[dot]')}",
                         f"{local.replace('.', ' dot ')} at {name} dot {tld.replace('.', ' dot ')}")  # fmt: skip

    def email_bare_at(self) -> str:
        return f"{self.local_part()} at {self.domain()}"

    def date(self) -> str:
        day, month = self.rng.randint(1, 28), self.rng.randint(1, 12)
        return self.pick(f"{day:02d}/{month:02d}/2024", f"{day}.{month}.2024", f"2024-{month:02d}-{day:02d}",
                         f"{day:02d}/{month:02d}/24", f"{day}/{month}")  # fmt: skip

    def date_us(self) -> str:
        return f"{self.rng.randint(1, 12)}/{self.rng.randint(1, 28)}/{self.rng.randint(1950, 2001)}"

    def version4(self) -> str:
        return f"{self.rng.randint(2, 9)}.{self.rng.randint(0, 12)}.{self.rng.randint(0, 9)}.{self.rng.randint(1, 40)}"

    def pac(self) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3)) + self.digits(6)

    def pnr(self) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))


NAME_SLOTS = {
    "full": lambda c: c.full, "first": lambda c: c.first, "last": lambda c: c.last,
    "FIRST": lambda c: c.first.upper(), "LAST": lambda c: c.last.upper(), "nick": lambda c: c.nick,
    "first_plain": lambda c: ascii_letters(c.first),
}  # fmt: skip
METHOD_KINDS = {
    "EMAIL": ("email", "email_spelled", "email_bare_at"),
    "CARD": ("card", "card_dashed", "card_compact", "card_amex"),
    "IP": ("ipv4", "ipv6", "ipv6_linklocal", "ipv6_full"),
    "NATIONAL_ID": ("ssn", "ssn_plain", "nino", "nino_compact", "dni", "nie", "cf", "bsn", "nir", "steuer_id", "ppsn"),
}
SLOT_KINDS = {slot: kind for kind, slots in METHOD_KINDS.items() for slot in slots} | {"email_other": "EMAIL"}


def fill(values: Values, slot: str) -> tuple[str, str | None]:
    """The slot's text and its gold kind (None: not PII)."""
    if slot in NAME_SLOTS:
        return NAME_SLOTS[slot](values.customer), "NAME"
    if slot in PATTERNS:
        kind, shapes = PATTERNS[slot]
        return values.pattern(values.pick(*shapes)), kind
    if slot in CHOICES:
        return values.pick(*CHOICES[slot]), SLOT_KINDS.get(slot)
    if slot.startswith("iban_"):
        return values.iban(slot.removeprefix("iban_").upper()), "IBAN"
    return getattr(values, slot)(), SLOT_KINDS.get(slot)


def render(template: str, values: Values) -> tuple[str, list[dict[str, object]]]:
    text, spans = "", []
    for index, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if index % 2 == 0:
            text += piece
            continue
        value, kind = fill(values, piece)
        if kind:
            spans.append({"start": len(text), "end": len(text) + len(value), "kind": kind})
        text += value
    return text, spans


# --- Templates -----------------------------------------------------------------------------------------------
# "en": a customer of that locale's pool, whose name the desk knows (or, for a message that does not name
# them, knows one time in four); "en anon": the desk knows no name; "en=Bill Foster": that customer.

PII_TEMPLATES = [
    # Banking
    ("en", "Hi, this is {full}. My card {card} was declined at the shop although I have {amount_gbp} available."),
    ("en", "Hello, please update the IBAN for my direct debit to {iban_gb}. Thanks, {first}"),
    ("en", "{first} here. Someone used my card {card_dashed} for {amount_gbp} on {date} and it wasn't me!!"),
    ("en", "can u block my card asap, the number is {card_compact}. think i left it in a taxi"),
    ("en", "Please send the refund of {amount_eur} to {iban_de} (account holder {full})."),
    ("en", "My National Insurance number is {nino}. Do you need anything else for the ISA application?"),
    ("us", "I'm filling in the W-9, is it ok to give my SSN here? It's {ssn}."),
    ("en", "I got a text from {phone_uk_mobile} saying my account is locked and to click a link. Is that really you?"),
    ("en", "New mobile number: {phone_uk_mobile}. Please remove the old one, {phone_uk_mobile}, from my profile."),
    ("en", "The {amount_eur} I sent on {date} from {iban_fr} to {iban_nl} never arrived. Reference {invoice}."),
    ("en", "I can't log in to online banking, it says access blocked for IP {ipv4}. I'm at home on my usual wifi."),
    ("en", "Good afternoon, my name is {full} and I'd like to close my savings account ending {ending}."),
    ("en", "Could you email the statement to {email} please, not the old address"),
    ("en", "my email is {email_spelled} (not typing it normally because of spam bots)"),
    ("en", "For the mortgage application: NI number {nino_compact}, mobile {phone_uk_mobile}, call after {time}."),
    ("en", "Thanks for your help today.\nKind regards,\n{full}"),
    ("en", "Name on the account: {LAST}, {FIRST}. Card number {card}, expiry 09/27."),
    ("us", "Hey it's {first}, my Amex {card_amex} got charged {amount_usd} twice at a gas station in Denver."),
    ("us", "Please call me at {phone_us} between {time} and {time} Eastern, I can't chat at work. - {first}"),
    ("us", "Social security number {ssn}, new address {postcode_us}. Please resend the 1099 to {email}."),
    ("en", "Sorry, typo before - the correct card is {card} not the one I sent."),
    ("en", "can you confirm the account {iban_gb} belongs to {other}? I'm about to send {amount_gbp} for a car"),
    ("en", "The payment from {ipv4} at {timestamp} wasn't me, I was asleep. My card is {card_dashed}."),
    ("en", "I've tried calling {phone_company} four times. My number for a callback is {phone_uk}."),
    ("en anon", "This is {full}, I'm not logged in but I need to report my card {card} stolen"),
    ("be", "Please refund to my Belgian account {iban_be}, I don't use the UK one anymore."),
    ("de", "IBAN {iban_at} bitte für die Rückzahlung der Kaution verwenden. Danke, {first}"),
    ("es", "Me llamo {full}. Mi cuenta es {iban_es} y el número de tarjeta {card}."),
    ("en", "The IBAN on the invoice is {iban_gb}. Is that really your account? The email came from {email_other}."),
    ("us", "SSN: {ssn_plain} (no dashes). DOB {date_us}. I need the 1099-INT for last year."),
    # Shopping
    ("en", "Order {order_ref} arrived damaged. You can reach me on {phone_uk} or {email}. {full}"),
    ("en", "Hi, I paid with {card} for order {order_ref} and got charged {amount_gbp} instead of {amount_gbp}."),
    ("en", "The courier needs a phone number for the delivery, use {phone_uk_mobile} please"),
    ("en", "I never got the confirmation e-mail. Is {email} what you have on file? Order placed {date}."),
    ("en", "Hiya, {first} again - the replacement still hasn't come. Tracking {tracking}."),
    ("us", "Can you send the return label to {email_other}? It's my partner's account, wrong size ordered."),
    ("en", "yes the account is under {full}, postcode {postcode}"),
    ("de", "Hallo, ich bin {full}. Bestellung {order_ref} fehlt noch, bitte rufen Sie mich an: {phone_de_mobile}"),
    ("fr", "Bonjour, je m'appelle {full}. Mon numéro de portable est le {phone_fr}, merci de me rappeler."),
    ("es", "Hola, soy {full}. Mi pedido {order_ref} no ha llegado, mi móvil es {phone_es_local}."),
    ("es", "Podéis llamarme al {phone_es_local} cuando queráis, gracias"),
    ("nl", "Hoi, met {first}. Bestelling {order_ref} is beschadigd aangekomen. Mijn nummer is {phone_nl}."),
    ("it", "Salve, sono {full}, cellulare {phone_it}. Il pacco {tracking} risulta consegnato ma non l'ho ricevuto."),
    ("en", "my number is {phone_words}, text me when the driver is close"),
    ("en", "you can reach me at {email_bare_at}"),
    ("en", "my old email {email} got hacked, please change it to {email}"),
    ("it", "Buonasera, sono {first}. Il mio numero è {phone_it} e l'email {email}."),
    ("nl", "Mijn e-mailadres is {email} en mijn telefoonnummer {phone_nl}. Met vriendelijke groet, {full}"),
    ("de", "Hallo, {first} hier. Ich habe eine neue Handynummer: {phone_de_mobile}. Die E-Mail {email} bleibt gleich."),
    ("en", "Hello. I'd like a callback on {phone_uk} regarding my complaint.\nRegards {first}"),
    ("en=Chloé Dubois", "Hi, I'm {first_plain}, I sent the photos of the broken lamp to {email} yesterday"),
    ("en=Michael Brennan", "Perfect, that's sorted then. Cheers,\n{nick}"),
    # Telecom
    ("en", "I want to port my number {phone_uk_mobile} to you, the PAC code is {pac}."),
    ("en", "The broadband keeps dropping. The router shows WAN IP {ipv4} and IPv6 {ipv6}."),
    ("en", "Our static IP {ipv4} is on a blocklist, so our mails to {email_other} bounce."),
    ("en", "Hi it's {full}, my phone bill has a {amount_gbp} roaming charge from {date}, but roaming was off."),
    ("en", "Your engineer asked for ipconfig: IPv4 {ipv4_private}, gateway {ipv4_private}, IPv6 {ipv6_linklocal}."),
    ("ie", "Hi, {first} here, my landline {phone_ie} has been dead since {date}. Mobile is {phone_ie_mobile}."),
    ("de", "Guten Tag, meine Festnetznummer {phone_de} geht seit dem {date} nicht.\nMit freundlichen Grüßen\n{full}"),
    ("fr", "Depuis la mise à jour, ma box a l'adresse IP {ipv4} et je n'ai plus internet. {first}"),
    ("us", "I keep getting calls from {phone_us} claiming to be your fraud team, is it legit?"),
    ("en", "My phone was stolen yesterday. IMEI {imei}, the SIM number is {phone_uk_mobile}. Please block both."),
    ("en", "The VPN only lets me in from {ipv4}, my home IPv6 {ipv6} gets refused."),
    ("en", "{full} here, I was locked out after 3 attempts from {ipv6}. Can you unlock me?"),
    ("en", "The log says login from {ipv6_full} at {timestamp} - that's not my device!"),
    ("en=Bill Foster", "{first} here again. My bill for March was {amount_gbp}, way more than the usual."),
    ("en", "I'm abroad this week, only reachable on {phone_fr} or {phone_es_intl}."),
    ("us", "Call me on {phone_us} or my partner {other} on {phone_us} if I don't pick up."),
    ("en", "My daughter will call you from {phone_uk_mobile}, she has power of attorney.\n{full}"),
    ("de", "Die Fritzbox zeigt die öffentliche IP {ipv4}, aber ich komme auf keine Seite. Gruß {first}"),
    ("nl", "Mijn modem heeft IPv6 {ipv6} maar geen IPv4. Kunnen jullie dat resetten? {full}"),
    # Travel
    ("en", "Booking {pnr} for {full}. Please send the e-ticket to {email} and add {phone_uk_mobile} for SMS updates."),
    ("fr", "Pour le remboursement de l'assurance voyage, mon numéro de sécurité sociale est {nir}."),
    ("es", "Para la reserva {pnr} necesito factura a nombre de {full}, DNI {dni}."),
    ("es", "Mi NIE es {nie} y el vuelo {flight} del {date} fue cancelado. Quiero el reembolso en {iban_es}."),
    ("it", "Per la fattura mi serve il codice fiscale: {cf}. Intestata a {full}, grazie."),
    ("it", "Codice fiscale {cf} e IBAN {iban_it} per il rimborso del volo {flight}."),
    ("nl", "Mijn BSN is {bsn}, dat vroeg uw collega voor de reisverzekering."),
    ("nl", "Burgerservicenummer: {bsn}. IBAN voor de terugbetaling: {iban_nl}. Groet, {full}"),
    ("de", "Für die Erstattung der Stornogebühr: IBAN {iban_de}, Kontoinhaber {full}."),
    ("de", "Sie hatten nach meiner Steuer-ID gefragt: {steuer_id}. Die Kreditkarte endet auf {ending}."),
    ("fr", "Bonjour, voici mon RIB : {iban_fr}. Cordialement, {full}"),
    ("fr", "Mon numéro de sécu : {nir}. Je vous ai envoyé l'attestation par mail à {email}."),
    ("en", "Travel insurance claim for {full}: NI {nino}, claim amount {amount_gbp}, flight {flight} on {date}."),
    ("ie", "My PPS number is {ppsn} if you need it for the account, and the IBAN is {iban_ie}."),
    ("es", "Os paso mi DNI {dni} y el teléfono {phone_es_intl} por si hay algún problema con el traslado."),
    ("fr", "Je suis {full}. Mon IBAN : {iban_fr}. Tél. {phone_fr}."),
    ("es", "Buenas, soy {full}. El número de reserva es {pnr} y mi teléfono de contacto {phone_es_intl}."),
    ("nl", "Ik ben {full}, mijn BSN staat op de brief van de gemeente: {bsn}."),
    ("us", "For the TSA PreCheck form they want my SSN {ssn} - can you just update it on the booking? {full}"),
    ("en", "Hi {agent}, the hotel in {city} says the payment failed. Please try my other card, {card_amex}."),
    ("en", "Opening a stocks and shares ISA: my NI number is {nino}, and the money comes from {iban_gb}."),
    ("it", "Buongiorno, sono {full}. Il mio codice fiscale è {cf}, mi serve la fattura del noleggio auto."),
    ("es", "Hola, soy {first}. Mi NIE es {nie}, ¿podéis cambiar el titular de la reserva {pnr}?"),
    ("fr", "Je m'appelle {full}. N° de sécurité sociale {nir}, IBAN {iban_fr}, c'est pour le remboursement."),
    ("ie", "Hi, {full} here, my Irish IBAN is {iban_ie} and you can ring me on {phone_ie_mobile}."),
    ("en", "Email for the booking: {email}. Card used: {card}."),
    ("us", "Card {card} was charged {amount_usd} by a subscription I cancelled in March, can you dispute it?"),
    ("en", "Apple Pay keeps saying card not supported for {card}, expiry 11/26. It works in shops."),
    ("de", "Meine Kreditkarte {card} wurde im Ausland gesperrt, ich bin gerade in Lissabon."),
    ("fr", "Ma carte {card_dashed} a été refusée au péage ce matin, pourtant le plafond n'est pas atteint."),
]  # fmt: skip

NEGATIVE_TEMPLATES = [
    ("en", "Hi, I was charged {amount_gbp} twice on {date} for the same order {order_ref}. Can you refund one?"),
    ("en", "The parcel with tracking number {tracking} was due by {time} today but it still says in transit."),
    ("en", "My card ending {ending} keeps getting declined for contactless over {amount_gbp}, is there a limit?"),
    ("en", "Since the {version4} update the app logs me out every time I switch to another app."),
    ("en", "I'm on version {version4} of the app and it still crashes at the login screen."),
    ("en", "Your interest rate went from {pct} to {pct} and nobody told me. I've been with you since 2009."),
    ("en", "Invoice {invoice} shows 3 x 2 l bottles, I ordered one. Total should be {amount_eur}, not {amount_eur}."),
    ("en", "Delivery to {postcode} failed on {date} between {time} and {time}, can I pick it up from the depot?"),
    ("en", "Booking reference {pnr}: flight {flight} on {date} at {time}. Can I add one checked bag of 23 kg?"),
    ("en", "I spoke to {other} on the phone yesterday, the refund of {amount_gbp} would take 3-5 working days."),
    ("en", "The number on the back of the gift card is {nonluhn16} but the website says it's invalid."),
    ("en", "Can I pay {amount_gbp} a month instead of {amount_gbp}? My contract ends on {date}."),
    ("en", "My standing order of {amount_gbp} (sort code {sort_code}) didn't go out on {date}."),
    ("en", "What time does the {city} branch close on Saturdays? Google says {time} but the door says {time}."),
    ("en", "{other} from your {city} branch told me to message here about the overdraft fee of {amount_gbp}."),
    ("en", "My router keeps dropping the connection every 10 minutes. Model: {router}."),
    ("en", "The box had 2 x 500 ml bottles and 1 x 1.5 l, only the small ones came. Order {order_ref}."),
    ("es", "Hola, el pedido {order_ref} llegó el {date} pero falta un artículo de {amount_eur}."),
    ("fr", "Bonjour, ma commande {order_ref} du {date} n'est toujours pas arrivée. Le suivi indique {tracking}."),
    ("de", "Hallo, die Rechnung {invoice} vom {date} über {amount_eur} wurde doppelt abgebucht."),
    ("nl", "Hoi, mijn pakket met trackingnummer {tracking} staat al sinds {date} op onderweg."),
    ("it", "Buongiorno, ho pagato {amount_eur} il {date} ma l'ordine {order_ref} risulta ancora in attesa."),
    ("en", "Do you charge {pct} on foreign transactions? I'm in Spain from {date} to {date}."),
    ("en", "The annual fee of {amount_gbp} was taken on {date}; I thought the first year was free?"),
    ("en", "Why is my bill {amount_gbp} this month? It's normally {amount_gbp}. Plan: {plan}."),
    ("en", "Seat {seat} on flight {flight} was double booked and the crew moved me to the last row."),
    ("en", "I returned the jacket (size M) on {date} with return code {receipt}, the refund is still pending."),
    ("en", "The 16-digit reference on my letter is {nonluhn16}, where do I enter it?"),
    ("en", "Case {case_ref}: still no answer after 12 days. This is the 4th time I'm writing."),
    ("en", "Is the 0% balance transfer offer still on? I'd move about {amount_gbp} over 24 months."),
    ("en", "My train from {city} was 47 minutes late on {date}, can I claim Delay Repay for booking {pnr}?"),
    ("de", "Die Aufladung über {amount_eur} um {time} am {date} ist noch nicht da, mein Guthaben zeigt {amount_eur}."),
    ("en", "Hi {agent}, the refund of {amount_usd} for order {order_ref} isn't on my card ending {ending} yet."),
    ("us", "Paid with Apple Pay at {time}, total {amount_usd} incl. 8.875% tax, receipt #{receipt}."),
    ("en", "Is the 100 Mbps fibre plan {amount_gbp} or {amount_gbp} with the 18-month contract?"),
    ("fr", "J'ai été prélevé de {amount_eur} le {date} à {time}, alors que mon forfait est à {amount_eur} par mois."),
    ("en", "The EAN on the box is {ean13} but you sent a different model, I ordered the 256 GB one."),
    ("en", "Opening hours say 09:00-17:30 Mon-Fri, I came at 17:10 on {date} and the door was locked."),
    ("en", "I was on hold from {time} to {time} on {date}, over 45 minutes, and then got cut off."),
    ("us", "Shipping to ZIP 94103-1207 shows $14.95 but the checkout said free delivery over $50."),
    ("de", "Seit dem Update auf Version {version4} stürzt die App beim Öffnen ab (Android 14, Pixel 7)."),
    ("en", "Your letter dated {date} says I owe £1,204.50 but the app shows £1,024.50. Which one is right?"),
    ("nl", "Ik heb op {date} om {time} {amount_eur} overgemaakt met omschrijving {invoice}, nog steeds niet verwerkt."),
    ("es", "Llevo desde el {date} sin fibra. El router es un {router} y la luz LOS parpadea en rojo."),
]  # fmt: skip


def message(rng: random.Random, spec: str, template: str) -> dict[str, object]:
    locale_and_flag, _, fixed = spec.partition("=")
    locale, _, flag = locale_and_flag.partition(" ")
    customer = FIXED[fixed] if fixed else rng.choice(CUSTOMERS[locale])
    text, spans = render(template, Values(rng, customer))
    named = any(span["kind"] == "NAME" for span in spans)
    knows_name = flag != "anon" and (named or rng.random() < 0.75)
    return {"text": text, "names": [customer.full] if knows_name else [], "spans": spans}


def messages(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        message(rng, spec, template) for spec, template in PII_TEMPLATES + NEGATIVE_TEMPLATES for _copy in range(COPIES)
    ]


def problems(labelled: list[dict[str, object]]) -> list[str]:
    """What keeps the set from what bench.pii promises: sizes, counts per kind, spans inside and apart."""
    found = []
    kinds = Counter(span["kind"] for item in labelled for span in item["spans"])
    found += [f"{kind}: {kinds[kind]} spans, fewer than 25" for kind in KINDS if kinds[kind] < 25]
    if len(labelled) < 220 or sum(not item["spans"] for item in labelled) < 60:
        found.append("fewer than 220 messages or 60 PII-free ones")
    if len({template for _spec, template in PII_TEMPLATES + NEGATIVE_TEMPLATES}) < 80:
        found.append("fewer than 80 distinct templates")
    for item in labelled:
        ends = [0]
        for span in sorted(item["spans"], key=lambda s: s["start"]):
            if not ends[-1] <= span["start"] < span["end"] <= len(item["text"]):
                found.append(f"span {span} outside the text or overlapping: {item['text']!r}")
            ends.append(span["end"])
    return found


def main() -> int:
    labelled = messages()
    if found := problems(labelled):
        print("\n".join(found))
        return 1
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in labelled), encoding="utf-8")
    kinds = Counter(span["kind"] for item in labelled for span in item["spans"])
    pii_free = sum(not item["spans"] for item in labelled)
    print(f"{DATA}: {len(labelled)} messages ({pii_free} PII-free); spans: {dict(sorted(kinds.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
