"""Other systems around a run: TradingView webhook alerts into the bot's own risk and
execution path (:mod:`.tradingview`), PagerDuty alerting (:mod:`.pagerduty`) and the
service-level objectives it pages on (:mod:`.slo`).

Each is an :class:`~bitunix.app.observers.Observer` created by ``bitunix-bot run`` from
the configuration; the pure parts (signatures, the nonce book, the burn rates) are tested
without a run.
"""
