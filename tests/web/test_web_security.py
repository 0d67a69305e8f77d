"""Login throttle (backoff per client and username, bounded memory), the client address behind proxies,
CSRF comparison; bearer tokens expire, carry the session version and cannot be forged."""

import time

from laserdose.web.security import LoginThrottle, TokenSigner, client_address, csrf_matches


def test_throttle_backs_off_exponentially_per_client_and_username():
    throttle = LoginThrottle(attempts=2, window_s=600, backoff_s=1.0, max_backoff_s=8.0)
    for _ in range(2):
        throttle.failed("10.0.0.9", "alice", now=100.0)
    assert throttle.retry_after_s("10.0.0.9", "alice", now=100.0) == 1.0  # 1 s after the 2 allowed failures
    throttle.failed("10.0.0.9", "alice", now=101.0)
    assert throttle.retry_after_s("10.0.0.9", "alice", now=101.0) == 2.0  # doubled
    for _ in range(5):
        throttle.failed("10.0.0.9", "alice", now=101.0)
    assert throttle.retry_after_s("10.0.0.9", "alice", now=101.0) == 8.0  # capped
    assert throttle.retry_after_s("10.0.0.9", "alice", now=109.5) == 0.0  # the wait is over


def test_throttle_never_locks_the_account_for_another_client():
    throttle = LoginThrottle(attempts=5, window_s=300, backoff_s=1.0, max_backoff_s=300.0)
    for _ in range(50):  # someone hammers alice's account from one address
        throttle.failed("203.0.113.7", "alice", now=10.0)
    assert throttle.retry_after_s("203.0.113.7", "alice", now=10.0) > 0
    assert throttle.retry_after_s("192.0.2.1", "alice", now=10.0) == 0.0  # alice herself, elsewhere


def test_throttle_slows_one_client_spraying_many_usernames():
    throttle = LoginThrottle(attempts=2, window_s=300, backoff_s=1.0, max_backoff_s=60.0)
    for n in range(20):  # one failure each: under the per-username allowance, at the per-client one
        throttle.failed("203.0.113.7", f"user{n}", now=5.0)
    assert throttle.retry_after_s("203.0.113.7", "someone-new", now=5.0) > 0
    assert throttle.retry_after_s("192.0.2.1", "someone-new", now=5.0) == 0.0


def test_throttle_memory_is_bounded():
    throttle = LoginThrottle(attempts=5, window_s=0.05, backoff_s=1, max_backoff_s=1, max_keys=100)
    for n in range(100):
        throttle.failed(f"10.0.0.{n}", "a")
    time.sleep(0.06)  # all those failures expire
    for n in range(100, 150):
        throttle.failed(f"10.0.1.{n}", "a")
    assert throttle.tracked_keys() <= 100


def test_forwarded_for_is_read_only_from_trusted_proxies():
    proxies = frozenset({"10.0.0.2"})
    assert client_address("127.0.0.1", "198.51.100.4", frozenset()) == "127.0.0.1"
    assert client_address("127.0.0.1", "198.51.100.4", proxies) == "127.0.0.1"  # the peer is no proxy
    assert client_address("10.0.0.2", "198.51.100.4", proxies) == "198.51.100.4"
    # A client can put anything on the left; the nearest address the proxy itself saw counts.
    assert client_address("10.0.0.2", "1.2.3.4, 198.51.100.4", proxies) == "198.51.100.4"
    assert client_address("10.0.0.2", None, proxies) == "10.0.0.2"


def test_csrf_matches_only_equal_non_empty_tokens():
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd") and not csrf_matches(None, None) and not csrf_matches("", "")


def test_tokens_expire_and_other_secrets_do_not_verify():
    signer = TokenSigner("s" * 40, ttl_s=1)
    token = signer.issue(7, 3)
    assert signer.user_id(token) == (7, 3)
    assert TokenSigner("t" * 40, ttl_s=1).user_id(token) is None
    assert signer.user_id(token[:-2] + "xx") is None
    time.sleep(2.1)  # itsdangerous timestamps have one-second resolution
    assert signer.user_id(token) is None
