"""Notifications: Telegram and a generic webhook told about fills, breaker trips, the kill
switch, errors and a daily summary, from a background task that never holds up trading.

* :mod:`~bitunix.notify.messages`: what is said (:class:`Notice`), built from a fill, a
  risk transition, an error line, or the day's figures (:func:`daily_summary`).
* :mod:`~bitunix.notify.channels`: how it is sent (:class:`TelegramChannel`,
  :class:`WebhookChannel` with its HMAC-SHA256 signature, :func:`sign_body`).
* :mod:`~bitunix.notify.notifier`: the :class:`Notifier` observer: a bounded queue and a
  sending task per channel, rate limited, retried a few times, failures logged.

See ``docs/notifications.md``.
"""

from bitunix.notify.channels import Channel, TelegramChannel, WebhookChannel, sign_body
from bitunix.notify.messages import DailyFigures, Notice, daily_summary
from bitunix.notify.notifier import Notifier, build_notifier

__all__ = [
    "Channel",
    "DailyFigures",
    "Notice",
    "Notifier",
    "TelegramChannel",
    "WebhookChannel",
    "build_notifier",
    "daily_summary",
    "sign_body",
]
