"""Checks before retrieval: input limits, scope (clinical, patient, legal, unrelated) and personal data."""

from __future__ import annotations

import re
import unicodedata
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
    r"keeps falling|his (gp|notes|records|medication)|her (gp|notes|records|medication))\b",
    re.IGNORECASE,
)
_LEGAL = re.compile(
    r"\b(clause \d+|is (this|our|the) (clause|contract|agreement|lease) (enforceable|legal|valid)|enforceable|"
    r"(should|can) we sue|sue (them|him|her|the)|liable for|legal advice on|breach of (our|this|the) contract|"
    r"(review|check) (our|my|this) (draft )?(contract|agreement|lease)|(do|must|should|can) (we|i) legally|legally (owe|obliged|required|allowed)|"
    r"(would|does|will|could) (we|our|it|they|the \w+) breach|breach \w+ law|under (our|the|my) \w*'? ?(agreement|contract|lease)|"
    r"notice (do|must|should) we)\b",
    re.IGNORECASE,
)
_NHS_NUMBER = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE = re.compile(r"(?<!\d)(\+44\s?\d{2,4}|\(?0\d{2,4}\)?)[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)")
_DOB = re.compile(r"\b(born|dob|d\.o\.b\.?|date of birth)\b[:\s]*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", re.IGNORECASE)


@dataclass(frozen=True)
class ScopeDecision:
    """Whether a question is in scope, and if not the category and a polite explanation."""

    in_scope: bool
    category: str = "in_scope"  # in_scope | clinical | patient | legal | unrelated
    message: str = ""


def clean_question(question: str, max_chars: int) -> str:
    """Normalise a question or raise InputError saying what is wrong with it."""
    if question is None or not question.strip():
        raise InputError("Please type a question: it was empty.")
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
    for kind, pattern in (("NHS number", _NHS_NUMBER), ("email address", _EMAIL), ("phone number", _PHONE), ("date of birth", _DOB)):
        if pattern.search(text):
            kinds.append(kind)
    return kinds


def redact(text: str) -> str:
    """`text` with NHS numbers, emails, phone numbers and dates of birth replaced by placeholders."""
    for label, pattern in (("[NHS NUMBER]", _NHS_NUMBER), ("[EMAIL]", _EMAIL), ("[DATE OF BIRTH]", _DOB), ("[PHONE]", _PHONE)):
        text = pattern.sub(label, text)
    return text
