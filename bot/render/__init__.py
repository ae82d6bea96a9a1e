"""Results drawn for people: Block Kit for Slack. Knows no Kosli calls and no transport."""
