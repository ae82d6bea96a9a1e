from bot.render.plain import blocks_to_text, mrkdwn_to_text


def test_mrkdwn_becomes_readable_text() -> None:
    text = (
        ":red_circle: *Stopped* `creator:31dee35` commit "
        "<https://github.com/cyber-dojo/creator/commit/31dee35|31dee35> started "
        "<!date^1662475304^{date_short_pretty} {time}|Tue, 06 Sep 2022 14:41:44 UTC>"
        " &amp; &lt;x&gt;"
    )
    assert mrkdwn_to_text(text) == (
        "🔴 *Stopped* `creator:31dee35` commit "
        "31dee35 (https://github.com/cyber-dojo/creator/commit/31dee35) started "
        "Tue, 06 Sep 2022 14:41:44 UTC & <x>"
    )
    assert "31dee35 started" in mrkdwn_to_text(text, links=False)


def test_blocks_in_order() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "aws-prod#177: 1 stopped"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "snapshot #176 → #177"}]},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*A*"},
            "fields": [{"type": "mrkdwn", "text": "*Flow*\nweb"}],
        },
        {"type": "divider"},
    ]
    assert (
        blocks_to_text(blocks)
        == "aws-prod#177: 1 stopped\nsnapshot #176 → #177\n*A*\n*Flow*: web\n---"
    )
