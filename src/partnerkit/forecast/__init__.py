"""Forecasts of partner pipeline: expected value, variance and Monte Carlo bands, explained.

`forecast` reads deal registrations (and, optionally, a host's `Opportunity`
records with sales stages) as of an instant: deals closed by then are the
history it learns win rates and close timing from, per stage and age in the
stage, shrunk from partner to tier to program with beta priors
(`ForecastPolicy`); the open ones are forecast per period, partner, tier and
product. Each `ForecastLine` has the exact expected value (`Money`), the variance
and p10/p50/p90 bands from a seeded Monte Carlo simulation; each `DealForecast`
says where its probability came from. `backtest` replays forecasts as of past
dates and measures them against what closed.

Probabilities are ``float`` values from 0 to 1; money is `Money`. Everything is
pure: no clock, no I/O, and the simulation's randomness comes from ``seed``.

See docs/forecast.md for the method and examples.
"""

from partnerkit.forecast._backtest import (
    BacktestPoint,
    ForecastBacktest,
    ReliabilityBucket,
    backtest,
)
from partnerkit.forecast._engine import DEFAULT_DRAWS, UNSPECIFIED, UNTIERED, forecast
from partnerkit.forecast._model import (
    DEFAULT_STAGE_RATES,
    DEFAULT_STATUS_STAGES,
    DealForecast,
    Dimension,
    Forecast,
    ForecastLine,
    ForecastPeriod,
    ForecastPolicy,
    Opportunity,
    Outcome,
    RateEstimate,
    StageChange,
)

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_STAGE_RATES",
    "DEFAULT_STATUS_STAGES",
    "UNSPECIFIED",
    "UNTIERED",
    "BacktestPoint",
    "DealForecast",
    "Dimension",
    "Forecast",
    "ForecastBacktest",
    "ForecastLine",
    "ForecastPeriod",
    "ForecastPolicy",
    "Opportunity",
    "Outcome",
    "RateEstimate",
    "ReliabilityBucket",
    "StageChange",
    "backtest",
    "forecast",
]
