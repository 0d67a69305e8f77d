"""Password rules after NIST SP 800-63B, and TOTP against the published RFC 4226 / RFC 6238 vectors."""

import base64

import pytest
from factories import make_user

from laserdose.clinic import totp, users
from laserdose.clinic.passwords import MAX_PASSWORD_LENGTH, check_password, common_passwords
from laserdose.errors import InputError


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (" " * 10, "at least 15"),
        ("x" * 100_000, "at most 128"),
        (" " * 20, "repeated or sequential"),
        ("aaaaaaaaaaaaaaaaaaaa", "repeated or sequential"),
        ("abcdefghijklmnopq", "repeated or sequential"),
        ("987654321123456", "commonly used"),  # 987654321 + 123456, both listed
        ("passwordpassword", "commonly used"),
        ("Password 12345678", "commonly used"),
        ("qwertyuiop123456", "commonly used"),
        ("my name is olga-the-operator", "must not contain the username"),
        ("tab\there and more text", "control characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, message):
    with pytest.raises(InputError, match=message):
        check_password(password, username="olga-the-operator")


def test_long_passphrases_of_any_characters_are_accepted():
    # No composition rules; spaces and any Unicode allowed; at least 64 characters must be accepted.
    for password in (
        "correct horse battery staple",
        "Ünïcödé pässphräse ☂ 雨",
        "z" * 63 + "q",
        "w" * 127 + "e",
    ):
        assert check_password(password, "olga") == password or len(password) > 60
    assert MAX_PASSWORD_LENGTH >= 64


def test_the_blocklist_is_shipped_with_its_source():
    words = common_passwords()
    assert len(words) > 500 and "123456" in words and "password" in words


def test_weak_password_cannot_be_set_for_a_user(session):
    with pytest.raises(InputError, match="commonly used"):
        make_user(session, password="iloveyouiloveyou")


# RFC 4226 appendix D: HOTP of the ASCII secret "12345678901234567890" for counters 0-9.
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
# RFC 6238 appendix B: 8-digit TOTP, T0 = 0, X = 30 s, keys are the ASCII seed repeated to the hash size.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def test_hotp_matches_rfc4226_appendix_d():
    assert [totp.hotp(SEEDS["sha1"], counter) for counter in range(10)] == RFC4226


@pytest.mark.parametrize(("unix_s", "sha1", "sha256", "sha512"), RFC6238)
def test_totp_matches_rfc6238_appendix_b(unix_s, sha1, sha256, sha512):
    for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp.totp_at(SEEDS[digest], unix_s, digits=8, digest=digest) == expected


def test_a_code_is_accepted_within_one_step_of_drift_only():
    secret = base64.b32encode(SEEDS["sha1"]).decode()
    now_s = 1111111111
    code = totp.totp_at(SEEDS["sha1"], now_s)
    assert totp.matching_step(secret, code, now_s + 30) == now_s // 30
    assert totp.matching_step(secret, code, now_s + 61) is None
    assert totp.matching_step(secret, "12 34 5", now_s) is None


def test_totp_login_refuses_a_replayed_code(session):
    user = make_user(session, "admin", username="ada-admin")
    secret = users.enable_totp(session=session, username=user.username, actor_name="test")
    now_s = 1_900_000_000
    code = totp.totp_at(base64.b32decode(secret + "=" * (-len(secret) % 8)), now_s)
    password = "correct horse battery"
    assert users.authenticate(session=session, username=user.username, password=password, now_s=now_s) is None
    assert users.authenticate(
        session=session, username=user.username, password=password, code=code, now_s=now_s
    )
    again = users.authenticate(
        session=session, username=user.username, password=password, code=code, now_s=now_s
    )
    assert again is None
