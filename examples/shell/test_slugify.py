# Tests for the generated slugify(): plain asserts in test_* functions, run by `gen --test`.
from slugify import slugify


def test_lowercase_and_dashes():
    assert slugify("Hello, World!") == "hello-world"


def test_runs_collapse_and_ends_are_trimmed():
    assert slugify("  --A  b__c--  ") == "a-b-c"


def test_digits_stay():
    assert slugify("Top 10 of 2026") == "top-10-of-2026"
