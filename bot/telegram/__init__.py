"""Telegram transport and presentation: update intake, rate limits, delivery, views, buttons."""
