"""Password rules after NIST SP 800-63B [NIST800-63B]: length, a blocklist [Burnett2015], no composition.

A password is refused when it is shorter than 15 characters (a single-factor password; 800-63B rev. 4
5.1.1.2), longer than 128 (a bound that still allows any passphrase: at least 64 must be accepted),
made only of one repeated or sequential character run ("aaaa...", "12345..."), made only of common
passwords (the shipped list, with repeats: "passwordpassword"), or contains the username. Any printable
Unicode is allowed, spaces included; the text is NFKC-normalised before hashing (800-63B asks for it).
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

from laserdose.errors import InputError

MIN_PASSWORD_LENGTH = 15  # [U] NIST SP 800-63B rev. 4, 5.1.1.2: 15 for a password used as a single factor
MAX_PASSWORD_LENGTH = 128  # [U] ibid.: verifiers should permit at least 64; a bound keeps hashing cheap


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped blocklist (lower case), from clinic/data/common-passwords.txt."""
    text = resources.files("laserdose.clinic").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#")


def normalise(password: str) -> str:
    """Return `password` in Unicode normal form NFKC, as it is hashed and checked."""
    return unicodedata.normalize("NFKC", password)


def _made_of_common_words(text: str) -> bool:
    """Whether `text` splits wholly into blocklisted words (word-break over the list)."""
    words = common_passwords()
    longest = max(map(len, words))
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        reachable[end] = any(
            reachable[start] and text[start:end] in words for start in range(max(0, end - longest), end)
        )
    return reachable[-1]


def _one_run(text: str) -> bool:
    """Whether `text` is one character repeated, or one ascending or descending run of code points."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) <= 1 and steps <= {-1, 0, 1}


def check_password(password: str, username: str = "") -> str:
    """Return the normalised password, or raise `InputError` saying which rule it breaks.

    Args:
        password: the chosen password.
        username: the account's login name; a password that contains it is refused.
    """
    password = normalise(password)
    length = len(password)
    if length < MIN_PASSWORD_LENGTH:
        raise InputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters (it has {length})")
    if length > MAX_PASSWORD_LENGTH:
        raise InputError(f"password must have at most {MAX_PASSWORD_LENGTH} characters (it has {length})")
    if any(unicodedata.category(char) == "Cc" for char in password):
        raise InputError("password must not contain control characters")
    folded = password.casefold()
    if not folded.strip() or _one_run(folded.replace(" ", "")):
        raise InputError("password must not be one repeated or sequential run of characters")
    if _made_of_common_words(folded.replace(" ", "")):
        raise InputError("password is made only of commonly used passwords; choose another")
    if len(username) >= 3 and username.casefold() in folded:
        raise InputError("password must not contain the username")
    return password
