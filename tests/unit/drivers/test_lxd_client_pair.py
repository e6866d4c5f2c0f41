"""The LXD client checks a host's certificate + key once per process, not on every connection."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from vmhost import pki
from vmhost.drivers.lxd import client as lxd_client


@pytest.fixture(scope="module")
def pair() -> pki.KeyPair:
    return pki.generate("pair@vmhost", key_size=2048)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    lxd_client._CHECKED_PAIRS.clear()
    yield
    lxd_client._CHECKED_PAIRS.clear()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = pki.load_pair

    def load_pair(cert: str, key: str) -> pki.KeyPair:
        calls.append(1)
        return real(cert, key)

    monkeypatch.setattr(lxd_client.pki, "load_pair", load_pair)
    return calls


def test_a_good_pair_is_loaded_once(pair: pki.KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    for _ in range(3):
        lxd_client.check_pair(pair.certificate_pem, pair.key_pem)
    assert len(calls) == 1


def test_a_bad_pair_is_refused_every_time(
    pair: pki.KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = pki.generate("other@vmhost", key_size=2048)
    calls = _counting(monkeypatch)
    for _ in range(2):
        with pytest.raises(pki.MismatchedPairError):
            lxd_client.check_pair(pair.certificate_pem, other.key_pem)
    assert len(calls) == 2
    assert lxd_client._CHECKED_PAIRS == {}


def test_an_expired_certificate_is_checked_again(
    pair: pki.KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    lxd_client.check_pair(pair.certificate_pem, pair.key_pem)
    (digest,) = lxd_client._CHECKED_PAIRS
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    lxd_client._CHECKED_PAIRS[digest] = past  # as if the certificate had expired since
    calls = _counting(monkeypatch)
    lxd_client.check_pair(pair.certificate_pem, pair.key_pem)
    assert len(calls) == 1  # loaded (and its expiry checked) again
