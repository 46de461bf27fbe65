"""The browser nonce ALB sets as `AWSALBAuthNonce` before sending the user to the provider."""

from __future__ import annotations

import collections
import string

from albauth.auth.state import new_browser_nonce


def test_a_nonce_is_16_letters_and_digits_and_never_repeats() -> None:
    nonces = [new_browser_nonce() for _ in range(2000)]
    alphabet = set(string.ascii_letters + string.digits)
    assert all(len(n) == 16 and set(n) <= alphabet for n in nonces)
    assert len(set(nonces)) == len(nonces)


def test_every_letter_and_digit_is_about_equally_likely() -> None:
    """Bytes map to 62 characters without a modulo bias (4 byte values each; the 8 left over
    are dropped): over 320,000 characters each one's count stays near 5,161."""
    counts = collections.Counter("".join(new_browser_nonce() for _ in range(20_000)))
    assert len(counts) == 62
    assert all(4700 < n < 5650 for n in counts.values()), counts.most_common(3) + counts.most_common()[-3:]
