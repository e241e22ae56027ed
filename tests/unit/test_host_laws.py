"""Property-based tests: extract_host, append_host and hosts_are_equivalent obey their laws.

Host, backend and pool names are any text without '@' and '#' (what
config.check_name accepts, plus odd characters the functions must not trip on).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cinder_lab import exception
from cinder_lab.volume.volume_utils import (
    DEFAULT_POOL_NAME,
    append_host,
    extract_host,
    hosts_are_equivalent,
)

name = st.text(st.characters(blacklist_characters="@#", blacklist_categories=("Cs",)), min_size=1)
anything = st.text(st.characters(blacklist_categories=("Cs",)))


@st.composite
def host_strings(draw) -> str:
    """``host``, ``host@backend``, ``host#pool`` or ``host@backend#pool``."""
    text = draw(name)
    if draw(st.booleans()):
        text += "@" + draw(name)
    if draw(st.booleans()):
        text += "#" + draw(name)
    return text


@given(name, name, name)
def test_levels_of_a_full_host_string(host, backend, pool):
    full = f"{host}@{backend}#{pool}"
    assert extract_host(full, "host") == host
    assert extract_host(full, "backend") == f"{host}@{backend}"
    assert extract_host(full) == extract_host(full, "backend")
    assert extract_host(full, "pool") == pool
    assert extract_host(full, "pool", True) == pool


@given(host_strings())
def test_levels_nest(h):
    backend = extract_host(h)
    # host is a prefix of backend, backend a prefix of the whole string
    assert h.startswith(backend)
    assert backend.startswith(extract_host(h, "host"))
    # extracting again at the same or a coarser level changes nothing (idempotence)
    assert extract_host(backend) == backend
    assert extract_host(extract_host(h, "host"), "host") == extract_host(h, "host")
    assert extract_host(backend, "host") == extract_host(h, "host")
    # a backend-level string has no pool
    assert extract_host(backend, "pool") is None
    assert extract_host(backend, "pool", True) == DEFAULT_POOL_NAME


@given(host_strings(), name)
def test_append_then_extract_round_trips(h, pool):
    backend = extract_host(h)
    joined = append_host(backend, pool)
    assert joined == f"{backend}#{pool}"
    assert extract_host(joined, "pool") == pool
    assert extract_host(joined) == backend
    assert hosts_are_equivalent(joined, backend)


@given(host_strings())
def test_split_then_append_round_trips(h):
    backend, pool = extract_host(h), extract_host(h, "pool")
    assert append_host(backend, pool) == h


@given(st.one_of(st.none(), st.just("")), st.one_of(st.none(), anything))
def test_append_with_an_empty_side_returns_host(empty, other):
    assert append_host(empty, other) == empty
    assert append_host(other, empty) == other


@given(host_strings(), host_strings(), host_strings())
def test_equivalence_is_an_equivalence_relation(a, b, c):
    assert hosts_are_equivalent(a, a)
    assert hosts_are_equivalent(a, b) == hosts_are_equivalent(b, a)
    if hosts_are_equivalent(a, b) and hosts_are_equivalent(b, c):
        assert hosts_are_equivalent(a, c)
    assert hosts_are_equivalent(a, b) == (extract_host(a) == extract_host(b))


@given(host_strings(), name, name)
def test_pools_do_not_matter_to_equivalence(h, p1, p2):
    backend = extract_host(h)
    assert hosts_are_equivalent(append_host(backend, p1), append_host(backend, p2))


@given(anything, st.sampled_from(["host", "backend", "pool"]), st.booleans())
def test_any_text_never_raises(text, level, default):
    result = extract_host(text, level, default)
    assert result is None or isinstance(result, str)


@given(anything, anything)
def test_unknown_level_is_none(text, level):
    if level not in ("host", "backend", "pool"):
        assert extract_host(text, level) is None


@given(st.sampled_from(["host", "backend", "pool"]))
def test_none_host_is_invalid_volume(level):
    with pytest.raises(exception.InvalidVolume):
        extract_host(None, level)
