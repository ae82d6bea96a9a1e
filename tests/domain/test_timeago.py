import pytest

from bot.domain.timeago import duration_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.4, "about a second"),
        (1, "about a second"),
        (2, "2 seconds"),
        (59, "59 seconds"),
        (59.2, "59 seconds"),
        (59.6, "about a minute"),
        (60.4, "about a minute"),
        (89, "about a minute"),
        (9 * 60, "9 minutes"),
        (49 * 60, "49 minutes"),
        (59 * 60 + 40, "about an hour"),
        (3 * 3600, "3 hours"),
        (13 * 3600 + 50 * 60, "14 hours"),
        (23 * 3600 + 40 * 60, "one day"),
        (31 * 3600 + 27 * 60, "one day"),
        (36 * 3600, "2 days"),
        (45 * 86400, "2 months"),
        (400 * 86400, "one year"),
    ],
)
def test_durations_read_like_kosli_cli(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words
