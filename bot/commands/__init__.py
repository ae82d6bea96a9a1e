"""The bot's commands: their declarations, the handlers behind them, and dispatch."""
