"""Pure functions from values to Block Kit (and text): no Kosli calls, no store, no transport."""
