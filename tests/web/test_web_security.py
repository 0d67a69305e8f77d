"""Rate limiter window and memory bound; CSRF comparison; bearer tokens expire and cannot be forged."""

import time

from laserdose.web.security import LoginRateLimiter, TokenSigner, csrf_matches


def test_limiter_blocks_after_attempts_and_forgets_after_the_window():
    limiter = LoginRateLimiter(attempts=2, window_s=0.2)
    limiter.failed("user:a")
    assert not limiter.blocked("user:a")
    limiter.failed("user:a")
    assert limiter.blocked("user:a") and not limiter.blocked("user:b")
    time.sleep(0.25)
    assert not limiter.blocked("user:a")


def test_limiter_memory_is_bounded():
    limiter = LoginRateLimiter(attempts=5, window_s=0.05, max_keys=100)
    for n in range(100):
        limiter.failed(f"user:{n}")
    time.sleep(0.06)  # all those failures expire
    for n in range(100, 150):
        limiter.failed(f"user:{n}")
    assert limiter.tracked_keys() <= 100


def test_csrf_matches_only_equal_non_empty_tokens():
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd") and not csrf_matches(None, None) and not csrf_matches("", "")


def test_tokens_expire_and_other_secrets_do_not_verify():
    signer = TokenSigner("s" * 40, ttl_s=1)
    token = signer.issue(7)
    assert signer.user_id(token) == 7
    assert TokenSigner("t" * 40, ttl_s=1).user_id(token) is None
    assert signer.user_id(token[:-2] + "xx") is None
    time.sleep(2.1)  # itsdangerous timestamps have one-second resolution
    assert signer.user_id(token) is None
