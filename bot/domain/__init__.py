"""Pure logic over Kosli models: no I/O, no Slack."""
