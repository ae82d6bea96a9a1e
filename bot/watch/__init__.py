"""The watcher: polls watched environments and posts each change exactly once."""
