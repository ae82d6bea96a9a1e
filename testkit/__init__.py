"""The test rig that tests/ and bench/ share: the fake Slack, Slack-signed requests, the app
served on 127.0.0.1, and the seed's settings and story. Never installed with the bot."""
