"""Checks before retrieval: input limits, scope (clinical, patient, legal, unrelated) and personal data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.collection import Collection
from assistant.errors import InputError
from assistant.answering.prompts import as_data


def help_text(collection: Collection | None = None) -> str:
    """What the assistant answers, with the library's dates when they are known."""
    span = collection.span() if collection else ""
    return ("I answer questions on forming GP federations and other at-scale models of general practice, "
            f"their governance and conflicts of interest, from a library of NHS reports{f' ({span})' if span else ''}.")

_CLINICAL = re.compile(
    r"\b(dose|dosage|dosing|mg|mcg|milligram|prescrib\w*|antibiotic\w*|amoxicillin|penicillin|statin\w*|insulin|"
    r"metformin|warfarin|paracetamol|ibuprofen|opioid\w*|vaccin\w*|diagnos(e|es|is|ing|ed)|symptom\w*|treat(ment)? (for|of)|"
    r"how (do|should) i treat|side[- ]effects?|contraindicat\w*|otitis|pneumonia|asthma|diabet\w*|hypertension|"
    r"blood pressure|chest pain|rash|fever|infection|red flags?|referral criteria for|dvt|doac|atrial fibrillation|"
    r"work(ing)? up|suspected|refer (him|her|them) (urgently|routinely)|next step for|first[- ]line|"
    r"type [12] diabetes|cancer|depression|anticoagula\w*|blood test\w*|x-ray|scan result\w*)\b",
    re.IGNORECASE,
)
_PATIENT = re.compile(
    r"\b(my patient|our patient|this patient|a patient of (mine|ours)|patient (called|named)|"
    r"(mr|mrs|ms|miss|master)\.? [A-Z][a-z]+|aged? \d{1,3}|\d{1,3}[- ]?(year|yr)s?[- ]old|"
    r"keeps falling|his (gp|notes|records|medication)|her (gp|notes|records|medication)|"
    r"(his|her) (last|latest) (bp|blood pressure|reading|result|test|hba1c|scan))\b|"
    r"\b[A-Z][a-z]+ [A-Z][a-z]+, \d{1,3},",  # "Ahmed Hussain, 54, on our list": a person and an age
    re.IGNORECASE,
)
_LEGAL = re.compile(
    r"\b(clause \d+|is (this|our|the) (clause|contract|agreement|lease) (enforceable|legal|valid)|enforceable|"
    r"(should|can) we sue|sue (them|him|her|the)|liable for|legal advice on|breach of (our|this|the) contract|"
    r"(review|check) (our|my|this) (draft )?(contract|agreement|lease)|(do|must|should|can) (we|i) (legally|lawfully)|(legally|lawfully) (owe|obliged|required|allowed|walk away)|"
    r"(would|does|will|could) (we|our|it|they|the \w+) breach|breach \w+ law|under (our|the|my) \w*'? ?(agreement|contract|lease)|"
    r"notice (do|must|should) we)\b",
    re.IGNORECASE,
)
# Ten digits written 3-3-4 with spaces, dashes or dots between the groups, or run together (943 476 5919).
_NHS_NUMBER = re.compile(r"(?<![\w.-])\d{3}(?:\s{0,2}[-–.]?\s{0,2})\d{3}(?:\s{0,2}[-–.]?\s{0,2})\d{4}(?![\w-]|\.\d)")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE = re.compile(r"(?<!\d)(\+44\s?\d{2,4}|\(?0\d{2,4}\)?)[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)")
_DOB = re.compile(r"\b(born|dob|d\.o\.b\.?|date of birth)\b[:\s]*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", re.IGNORECASE)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
# A whole date (day, month and year), any common way round: 12/03/1984, 12-03-84, 12.3.1984, 1984-03-12,
# 12 March 1984, 12th Mar 84, March 12, 1984. A year alone or a month and year (April 2013) is no one's birthday.
_DATE = re.compile(
    r"(?<![\w/.-])(?:\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?(?:\d{4}|\d{2})|\d{4}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{1,2}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?[\s-]+{_MONTH}[\s,-]+(?:\d{{4}}|'?\d{{2}})|"
    rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:\d{{4}}|'?\d{{2}}))(?![\w/-]|\.\d)", re.IGNORECASE)
# UK postcodes, spaced or not, any case: SW1A 1AA, sw1a1aa, M1 1AE, B33 8TH, CR2 6XH, GIR 0AA.
_POSTCODE = re.compile(r"(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?\s{0,2}\d[A-Z]{2}|GIR\s?0AA)(?![\w-])", re.IGNORECASE)
# A title and a capitalised name after it (Mr Smith, Dr Jane Doe), or a name given as such ("called Jane Doe").
_NAMED = re.compile(r"\b(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?|(?i:called|named|name is))\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?")


@dataclass(frozen=True)
class ScopeDecision:
    """Whether a question is in scope, and if not the category and a polite explanation."""

    in_scope: bool
    category: str = "in_scope"  # in_scope | clinical | patient | legal | unrelated
    message: str = ""


def clean_question(question: str, max_chars: int) -> str:
    """Normalise a question or raise InputError saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("Please type a question: it was empty.")
    if len(question) > max_chars:  # before anything reads it: a 50 MB question is refused at once
        raise InputError(f"Your question is {len(question)} characters long; the maximum is {max_chars}. Please shorten it.")
    text = unicodedata.normalize("NFC", question)
    # Control characters are dropped (not rejected): pasted text often carries them harmlessly.
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    # Tags that delimit data in the prompts are defused, so a question cannot close its block and pose as instructions.
    text = as_data(text)
    if len(text) > max_chars:
        raise InputError(f"Your question is {len(text)} characters long; the maximum is {max_chars}. Please shorten it.")
    letters = sum(ch.isalpha() for ch in text)
    if letters < 2 or letters < 0.4 * len(text.replace(" ", "")):
        raise InputError("That does not look like a question in words. Please rephrase it, for example: "
                         "'How should a GP federation manage conflicts of interest?'")
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    if latin < 0.5 * letters:
        raise InputError("I can only answer questions in English, because the reports are in English. "
                         "Please ask again in English.")
    if not text:
        raise InputError("Please type a question.")
    return text


def check_history(history: Sequence, *, max_turns: int, max_chars: int) -> None:
    """InputError when a conversation's earlier turns (objects with `.content`) are too many or too long in all."""
    if len(history) > max_turns:
        raise InputError(f"The conversation has {len(history)} earlier messages; the maximum is {max_turns}. "
                         "Please start a new conversation.")
    size = 0
    for turn in history:
        size += len(getattr(turn, "content", "") or "")
        if size > max_chars:
            raise InputError(f"The conversation so far is over {max_chars} characters long. Please start a new "
                             "conversation.")


def check_scope(question: str, collection: Collection | None = None) -> ScopeDecision:
    """Rule-based scope check run before retrieval; 'unrelated' is decided later from retrieval evidence."""
    about = help_text(collection)
    if _PATIENT.search(question) or _NHS_NUMBER.search(question) or _DOB.search(question):
        return ScopeDecision(False, "patient", "I can't advise on an individual patient; please use clinical "
                             "guidance and your clinical colleagues for that. " + about)
    if _CLINICAL.search(question) and not re.search(r"\b(federation|practice|network|commission|governance|organisation)", question, re.I):
        return ScopeDecision(False, "clinical", "I can't give clinical advice such as diagnosis, treatment or dosing; "
                             "please check NICE guidance or the BNF. " + about)
    if _LEGAL.search(question):
        return ScopeDecision(False, "legal", "I can't give legal advice on a specific contract or dispute; please "
                             "ask your LMC or a solicitor. I can say what the reports describe about legal forms "
                             "and contracts in general. " + about)
    return ScopeDecision(True)


def salient_terms(question: str) -> list[str]:
    """Names, acronyms and numbers in a question (words a passage must mention to answer it)."""
    # Markup (tags defused by clean_question too), addresses and personal data are not facts to look up.
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>|[<‹][^>]{0,200}>|https?://\S+", " ", question)
    text = re.sub(r"\[[A-Z ]+\]", " ", redact(text))
    out = []
    for sentence in re.split(r"(?<=[.?!:;])\s+", text):
        words = re.findall(r"[A-Za-z][A-Za-z'’-]*|\d[\d,./]*", sentence)
        for i, word in enumerate(words):
            bare = word.strip("'’-.,/")
            if "'" in bare or "’" in bare:
                bare = re.sub(r"['’]s$", "", bare)
            if not bare or bare.lower() in _COMMON or "'" in bare or "’" in bare:
                continue
            # The first word of a sentence is capitalised whatever it is.
            if (bare[0].isdigit() and len(re.sub(r"\D", "", bare)) >= 2) or (i > 0 and bare[0].isupper()) or (len(bare) > 1 and bare.isupper()):
                out.append(bare)
    return out


# Capitalised words that name no particular fact (sentence starts, roles, the assistant's own domain).
_COMMON = frozenset("""i gp gps nhs uk england english ccg ccgs a the what how why who when which where is are do does can
    could should would will our my we in of for on and or to mr mrs ms dr""".split())


def find_personal_data(text: str) -> list[str]:
    """Kinds of personal data found in `text` (NHS number, email, phone, date of birth)."""
    kinds = []
    for kind, pattern in (("NHS number", _NHS_NUMBER), ("email address", _EMAIL), ("phone number", _PHONE),
                          ("date of birth", _DOB), ("postcode", _POSTCODE)):
        if pattern.search(text):
            kinds.append(kind)
    return kinds


def redact(text: str, *, names: bool = False) -> str:
    """`text` with NHS numbers, emails, dates, phone numbers and postcodes replaced by placeholders; with `names`,
    also a name after a title or 'called' (for what people write: a question or comment kept in feedback)."""
    # Names are opt-in: the reports name public figures and bodies the same way ('Dr HM Freeman & Partners').
    for label, pattern in (("[EMAIL]", _EMAIL), ("[DATE OF BIRTH]", _DOB), ("[DATE]", _DATE),
                           ("[NHS NUMBER]", _NHS_NUMBER), ("[PHONE]", _PHONE), ("[POSTCODE]", _POSTCODE)):
        text = pattern.sub(label, text)
    return _NAMED.sub("[NAME]", text) if names else text
