"""Orders, positions and PnL: the side of the bot that handles money.

``Venue`` (``execution.venue``) is the one interface to an exchange; ``Journal`` and
``TradeFeedback`` (``execution.ports``) are what execution needs from the store and the
strategies. :class:`ExecutionEngine` (``execution.engine``) is the order manager: it submits
intents, follows every order to its end, books fills into the :class:`Portfolio`, runs the
exits (``execution.exits``), reconciliation (``execution.reconcile``) and flatten
(``execution.flatten``). See ``docs/trading.md``.
"""

from bitunix.execution.client_ids import ClientIdFactory
from bitunix.execution.counters import ExecutionCounters
from bitunix.execution.engine import ExecutionEngine
from bitunix.execution.errors import RETRYABLE, NotReadyError
from bitunix.execution.exits import ExitController, ExitPlan
from bitunix.execution.exposure import DayFigures, build_snapshot
from bitunix.execution.flatten import FlattenReport
from bitunix.execution.portfolio import Portfolio
from bitunix.execution.ports import Journal, TradeFeedback
from bitunix.execution.reconcile import Reconciler, ReconcileReport
from bitunix.execution.settings import ExecutionSettings
from bitunix.execution.trips import TripBook
from bitunix.execution.venue import SubmitError, Venue, VenueListener, VenueOrder, VenuePosition

__all__ = [
    "RETRYABLE",
    "ClientIdFactory",
    "DayFigures",
    "ExecutionCounters",
    "ExecutionEngine",
    "ExecutionSettings",
    "ExitController",
    "ExitPlan",
    "FlattenReport",
    "Journal",
    "NotReadyError",
    "Portfolio",
    "ReconcileReport",
    "Reconciler",
    "SubmitError",
    "TradeFeedback",
    "TripBook",
    "Venue",
    "VenueListener",
    "VenueOrder",
    "VenuePosition",
    "build_snapshot",
]
