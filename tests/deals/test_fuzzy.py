"""The bounded edit distance agrees with the textbook one wherever it answers."""

from hypothesis import given
from hypothesis import strategies as st

from partnerkit.deals._fuzzy import edit_distance


def reference(left: str, right: str) -> int:
    """Optimal string alignment distance by the full table, without shortcuts."""
    rows, columns = len(left) + 1, len(right) + 1
    table = [[0] * columns for _ in range(rows)]
    for i in range(rows):
        table[i][0] = i
    for j in range(columns):
        table[0][j] = j
    for i in range(1, rows):
        for j in range(1, columns):
            cost = 0 if left[i - 1] == right[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[-1][-1]


words = st.text(alphabet="abcd", max_size=9)


@given(words, words, st.integers(min_value=0, max_value=4))
def test_the_bounded_distance_is_the_distance_or_one_past_the_limit(
    left: str, right: str, limit: int
) -> None:
    assert edit_distance(left, right, limit) == min(reference(left, right), limit + 1)


@given(words, st.integers(min_value=0, max_value=8), st.sampled_from("abcde"))
def test_one_changed_letter_is_one_slip(word: str, at: int, letter: str) -> None:
    changed = word[:at] + letter + word[at + 1 :] if at < len(word) else word + letter
    assert edit_distance(word, changed, 2) == min(reference(word, changed), 3)
    assert edit_distance(word, changed, 2) <= 1
