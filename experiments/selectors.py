"""Reads for experiments: per-visitor outcomes from stored rows, in one set-based query.

Who is analysed: every assigned visitor (an assignment is stored at the first list served in
the placement, so every one of them was exposed). What counts, between their assignment and
the end of the experiment (``stopped_at``, else now):

- impressions: lists of the experiment they saw (``Impression`` rows, half visible for 1 s), and
  lists they clicked before the impression was recorded (a click proves the list was seen);
- clicks: click events whose context names the experiment (the storefront sends the list's
  request id, experiment and variant with every click; QA previews, ``qa-`` request ids, never count);
- add-to-cart: add-to-cart events of a clicked product within ``cart_window_hours`` after the click;
- orders and revenue: order lines of a clicked product in orders placed within
  ``purchase_window_days`` after the click (quantity x unit price paid), each line once;
- pre-period activity: the visitor's events in the 14 days before assignment (CUPED's covariate),
  counted per visitor from the (customer, -timestamp) index rather than by joining the whole table.

The variant is always the stored assignment's, never what a client said.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from django.utils import timezone

from experiments.models import Assignment, Experiment, Impression
from shop.models import Interaction, Order, OrderLine

PRE_PERIOD_DAYS = 14


@dataclass(frozen=True)
class VisitorOutcomes:
    """One entry per analysed visitor, aligned arrays (numpy), ready for vectorised statistics."""

    variant_pk: np.ndarray  # int64
    assigned_at: np.ndarray  # float64, epoch seconds
    impressions: np.ndarray  # float64 counts
    clicks: np.ndarray
    carts: np.ndarray
    orders: np.ndarray
    revenue: np.ndarray
    pre_activity: np.ndarray

    def __len__(self) -> int:
        return int(self.variant_pk.size)

    def of_variant(self, pk: int) -> np.ndarray:
        return self.variant_pk == pk


def experiment_end(experiment: Experiment, *, now: datetime | None = None) -> datetime:
    """The moment after which nothing counts: the stop, else now."""
    return experiment.stopped_at or now or timezone.now()


def experiment_visitor_outcomes(*, experiment: Experiment, end: datetime | None = None) -> VisitorOutcomes:
    """Return every assigned visitor's outcomes (one query; SQL aggregates, no loop over events)."""
    end = end or experiment_end(experiment)
    limit = connection.ops.adapt_datetimefield_value(end)
    params = [
        experiment.pk,  # a
        experiment.key, limit,  # clk
        experiment.pk, limit,  # imp
        limit,  # carts
        limit,  # lines
    ]  # fmt: skip
    sql = _outcomes_sql(int(experiment.cart_window_hours) * 3600, int(experiment.purchase_window_days) * 86400)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return VisitorOutcomes(np.zeros(0, dtype=np.int64), *([empty] * 7))
    table = np.array(rows, dtype=np.float64)
    return VisitorOutcomes(table[:, 0].astype(np.int64), *(table[:, column] for column in range(1, 8)))


@functools.cache
def _outcomes_sql(cart_seconds: int, purchase_seconds: int) -> str:
    interactions = connection.ops.quote_name(Interaction._meta.db_table)
    sql = f"""
WITH {_assigned_clicks_cte(team=False)},
{_seen_lists_cte()},
clicks AS (SELECT customer_id, COUNT(*) AS n FROM clk GROUP BY customer_id),
{_attributed_ctes(by="customer_id", cart_seconds=cart_seconds, purchase_seconds=purchase_seconds)}
SELECT a.variant_id, {_epoch_seconds("a.assigned_at")}, COALESCE(imp.n, 0), COALESCE(clicks.n, 0),
       COALESCE(carts.n, 0), COALESCE(purchases.orders, 0), COALESCE(purchases.revenue, 0),
       (SELECT COUNT(*) FROM {interactions} x WHERE x.customer_id = a.customer_id
          AND x.timestamp >= {_plus_seconds("a.assigned_at", -PRE_PERIOD_DAYS * 86400)} AND x.timestamp < a.assigned_at)
FROM a
LEFT JOIN imp ON imp.customer_id = a.customer_id
LEFT JOIN clicks ON clicks.customer_id = a.customer_id
LEFT JOIN carts ON carts.customer_id = a.customer_id
LEFT JOIN purchases ON purchases.customer_id = a.customer_id
"""
    return sql


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _plus_seconds(column: str, seconds: int) -> str:
    seconds = int(seconds)
    if connection.vendor == "postgresql":
        return f"({column} + interval '{seconds} seconds')"
    # SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text (UTC); %% survives parameter substitution.
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {column}, '{seconds:+d} seconds')"


def _epoch_seconds(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


@dataclass(frozen=True)
class InterleavingOutcomes:
    """Per entered visitor of an interleaving experiment (aligned numpy arrays), and attributed totals per team."""

    impressions: np.ndarray  # lists seen
    wins_a: np.ndarray  # lists where team A's products got more clicks than B's
    wins_b: np.ndarray
    ties: np.ndarray  # lists with clicks, as many on each team's products
    clicks_a: np.ndarray
    clicks_b: np.ndarray
    teams: dict  # {"A": {"add_to_carts", "orders", "order_lines", "revenue"}, "B": {...}}

    def __len__(self) -> int:
        return int(self.impressions.size)


def interleaving_outcomes(*, experiment: Experiment, end: datetime | None = None) -> InterleavingOutcomes:
    """Return each entered visitor's list outcomes (team clicks per shown list), and what each team's clicks led to.

    A click is credited to the team its context names (the storefront sends back the ``team``
    of the product clicked); an add-to-cart or order line of that product within the
    experiment's windows is credited the same way. Two queries, SQL aggregates only.
    """
    end = end or experiment_end(experiment)
    limit = connection.ops.adapt_datetimefield_value(end)
    cart_seconds, purchase_seconds = int(experiment.cart_window_hours) * 3600, int(experiment.purchase_window_days) * 86400
    with connection.cursor() as cursor:
        cursor.execute(_interleaving_visitors_sql(), [experiment.pk, experiment.key, limit, experiment.pk, limit])
        rows = cursor.fetchall()
        cursor.execute(_interleaving_teams_sql(cart_seconds, purchase_seconds), [experiment.pk, experiment.key, limit, limit, limit])
        team_rows = cursor.fetchall()
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    teams = {team: {"add_to_carts": 0, "orders": 0, "order_lines": 0, "revenue": 0.0} for team in ("A", "B")}
    for team, carts, orders, lines, revenue in team_rows:
        if team in teams:
            teams[team] = {"add_to_carts": int(carts or 0), "orders": int(orders or 0), "order_lines": int(lines or 0),
                           "revenue": round(float(revenue or 0), 2)}  # fmt: skip
    return InterleavingOutcomes(*(table[:, column] for column in range(6)), teams=teams)


def _attributed_ctes(*, by: str, cart_seconds: int, purchase_seconds: int) -> str:
    """The ``carts`` and ``purchases`` CTEs: what followed the counted clicks, grouped by a ``clk`` column.

    An add-to-cart of the clicked product within ``cart_seconds`` after the click, and an order
    line of it within ``purchase_seconds`` (each line once, revenue = quantity x unit price paid);
    params: end, end. ``by``: ``customer_id`` (A/B, per visitor) or ``team`` (interleaving).
    """
    name = connection.ops.quote_name
    interactions, orders, lines = name(Interaction._meta.db_table), name(Order._meta.db_table), name(OrderLine._meta.db_table)
    return f"""carts AS (
  SELECT clk.{by}, COUNT(DISTINCT x.id) AS n
  FROM clk JOIN {interactions} x ON x.customer_id = clk.customer_id AND x.product_id = clk.product_id
  WHERE x.kind = 'add_to_cart' AND x.timestamp >= clk.ts AND x.timestamp <= {_plus_seconds("clk.ts", cart_seconds)}
    AND x.timestamp <= %s
  GROUP BY clk.{by}
),
bought AS (
  SELECT DISTINCT clk.{by}, o.id AS order_id, l.id AS line_id, l.quantity * l.unit_price AS revenue
  FROM clk JOIN {orders} o ON o.customer_id = clk.customer_id
  JOIN {lines} l ON l.order_id = o.id AND l.product_id = clk.product_id
  WHERE o.created_at >= clk.ts AND o.created_at <= {_plus_seconds("clk.ts", purchase_seconds)} AND o.created_at <= %s
),
purchases AS (
  SELECT {by}, COUNT(DISTINCT order_id) AS orders, COUNT(*) AS order_lines, SUM(revenue) AS revenue FROM bought GROUP BY {by}
)"""


def _seen_lists_cte() -> str:
    """The ``imp`` CTE: lists each visitor saw (impressions, and lists clicked before theirs was recorded); params: pk, end."""
    impressions = connection.ops.quote_name(Impression._meta.db_table)
    return f"""imp AS (
  SELECT customer_id, COUNT(DISTINCT request_id) AS n FROM (
    SELECT i.customer_id, i.request_id FROM {impressions} i WHERE i.experiment_id = %s AND i.timestamp <= %s
    UNION
    SELECT customer_id, request_id FROM clk WHERE request_id IS NOT NULL
  ) seen GROUP BY customer_id
)"""


def _assigned_clicks_cte(*, team: bool) -> str:
    """The ``a`` (assigned visitors) and ``clk`` (their counted clicks) CTEs; params: experiment pk, key, end.

    ``team``: an interleaving experiment's clicks, with the team each credits (clicks without one are left out).
    """
    name = connection.ops.quote_name
    interactions, assignments = name(Interaction._meta.db_table), name(Assignment._meta.db_table)
    team_column = f", {_json_text('x.context', 'team')} AS team" if team else ""
    team_filter = f"\n    AND {_json_text('x.context', 'team')} IN ('A', 'B')" if team else ""
    return f"""a AS (SELECT customer_id, variant_id, assigned_at FROM {assignments} WHERE experiment_id = %s),
clk AS (
  SELECT x.customer_id, x.product_id, x.timestamp AS ts, {_json_text("x.context", "request_id")} AS request_id{team_column}
  FROM {interactions} x JOIN a ON a.customer_id = x.customer_id
  WHERE x.kind = 'click' AND {_json_text("x.context", "experiment")} = %s
    AND x.timestamp >= a.assigned_at AND x.timestamp <= %s
    AND COALESCE({_json_text("x.context", "request_id")}, '') NOT LIKE 'qa-%%'{team_filter}
)"""


@functools.cache
def _interleaving_visitors_sql() -> str:
    return f"""
WITH {_assigned_clicks_cte(team=True)},
lists AS (
  SELECT customer_id, request_id,
         SUM(CASE WHEN team = 'A' THEN 1 ELSE 0 END) AS a, SUM(CASE WHEN team = 'B' THEN 1 ELSE 0 END) AS b
  FROM clk GROUP BY customer_id, request_id
),
outcomes AS (
  SELECT customer_id, SUM(CASE WHEN a > b THEN 1 ELSE 0 END) AS wins_a, SUM(CASE WHEN b > a THEN 1 ELSE 0 END) AS wins_b,
         SUM(CASE WHEN a = b AND a > 0 THEN 1 ELSE 0 END) AS ties, SUM(a) AS clicks_a, SUM(b) AS clicks_b
  FROM lists GROUP BY customer_id
),
{_seen_lists_cte()}
SELECT COALESCE(imp.n, 0), COALESCE(outcomes.wins_a, 0), COALESCE(outcomes.wins_b, 0), COALESCE(outcomes.ties, 0),
       COALESCE(outcomes.clicks_a, 0), COALESCE(outcomes.clicks_b, 0)
FROM a
LEFT JOIN imp ON imp.customer_id = a.customer_id
LEFT JOIN outcomes ON outcomes.customer_id = a.customer_id
"""


@functools.cache
def _interleaving_teams_sql(cart_seconds: int, purchase_seconds: int) -> str:
    return f"""
WITH {_assigned_clicks_cte(team=True)},
{_attributed_ctes(by="team", cart_seconds=cart_seconds, purchase_seconds=purchase_seconds)}
SELECT t.team, carts.n, purchases.orders, purchases.order_lines, purchases.revenue
FROM (SELECT 'A' AS team UNION ALL SELECT 'B') t
LEFT JOIN carts ON carts.team = t.team
LEFT JOIN purchases ON purchases.team = t.team
"""
