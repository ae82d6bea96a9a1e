"""watch, watching, unwatch, mute and unmute through signed slash commands."""

from __future__ import annotations

from tests.conftest import Bot


def test_watch_answers_with_the_baseline_in_the_channel(bot: Bot) -> None:
    answer = bot.ask("watch aws-prod")
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "Watching aws-prod in this channel: 10 artifacts running at #177"
    again = bot.ask("watch aws-prod", "2")
    assert again["text"] == "Already watching `aws-prod` here (since snapshot #177)."


def test_watching_lists_the_channel_subscriptions_privately(bot: Bot) -> None:
    bot.ask("watch aws-prod aws-beta --risky")
    mute = bot.ask("mute aws-prod 2h", "2")
    assert mute["text"].startswith("aws-prod muted until ")
    assert "<@U0ONCALL> muted `aws-prod`: alerts are held until" in str(mute["blocks"])
    listing = bot.ask("watching", "3")
    assert listing["response_type"] == "ephemeral"
    text = str(listing["blocks"])
    assert "*aws-beta* · last seen *#190* · since #190 · only risky changes" in text
    assert "*aws-prod* · last seen *#177* · since #177 · only risky changes · :no_bell: muted" in (
        text
    )


def test_unwatch_and_unmute(bot: Bot) -> None:
    bot.ask("watch aws-prod")
    unmuted = bot.ask("unmute aws-prod", "2")
    assert unmuted["text"] == "aws-prod unmuted"
    assert ":bell: <@U0ONCALL> unmuted `aws-prod`." in str(unmuted["blocks"])
    unwatched = bot.ask("unwatch aws-prod", "3")
    assert unwatched["text"] == "Stopped watching aws-prod here"
    assert "<@U0ONCALL> stopped watching `aws-prod` in this channel." in str(unwatched["blocks"])
    assert bot.ask("unwatch aws-prod", "4")["text"] == ("This channel was not watching `aws-prod`.")
    assert "watches nothing yet" in bot.ask("watching", "5")["text"]


def test_bad_watch_input_is_explained_privately(bot: Bot) -> None:
    unknown = bot.ask("watch aws-prd")
    assert unknown["response_type"] == "ephemeral"
    assert "There is no environment `aws-prd` in org `cyber-dojo`" in unknown["text"]
    duration = bot.ask("mute aws-prod forever", "2")
    assert duration["response_type"] == "ephemeral"
    assert "`forever` is not a duration I can mute for" in duration["text"]
    assert "`mute` takes an environment and a duration" in bot.ask("mute aws-prod", "3")["text"]


def test_only_admins_may_silence_alerts_when_admins_are_named(start_bot) -> None:
    bot = start_bot(admin_user_ids="UADMIN1")
    bot.ask("watch aws-prod")  # anyone may start watching
    refused = bot.ask("unwatch aws-prod", "2")
    assert refused["response_type"] == "ephemeral"
    assert refused["text"] == "Only the bot's admins may use `unwatch` like that here."
    assert bot.ask("mute aws-prod 1h", "3")["text"].startswith("Only the bot's admins")
    assert bot.ask("incident close", "4")["text"].startswith("Only the bot's admins")
    assert "watches" in bot.ask("watching", "5")["text"]  # still watched: nothing was changed


def test_only_admins_may_narrow_a_channel_to_risky_changes(start_bot) -> None:
    """`watch --risky` on a channel that gets every change silences the compliant ones: the
    same refusal as `unwatch` and `mute`, and the subscription is left as it was."""
    bot = start_bot(admin_user_ids="UADMIN1")
    bot.ask("watch aws-prod")
    refused = bot.ask("watch aws-prod --risky", "2")
    assert refused["response_type"] == "ephemeral"
    assert refused["text"] == (
        "Only the bot's admins may narrow `aws-prod` here to risky changes; "
        "this channel still gets every change."
    )
    assert "only risky" not in str(bot.ask("watching", "3")["blocks"])
    # Watching a new environment risky-only narrows nothing: anyone may.
    assert "Watching aws-beta" in bot.ask("watch aws-beta --risky", "4")["text"]


def test_the_reply_says_what_a_watch_changed(start_bot) -> None:
    bot = start_bot(admin_user_ids="U0ONCALL")
    bot.ask("watch aws-prod")
    narrowed = bot.ask("watch aws-prod --risky", "2")
    assert narrowed["text"] == (
        "Now only risky changes of `aws-prod` here (non-compliant or rogue)."
    )
    assert "only risky changes" in str(bot.ask("watching", "3")["blocks"])
    widened = bot.ask("watch aws-prod", "4")
    assert widened["text"] == "Now every change of `aws-prod` here, not only risky ones."
    assert bot.ask("watch aws-prod", "5")["text"].startswith("Already watching `aws-prod`")
