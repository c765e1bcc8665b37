"""Interleaving experiments for the admin and command tests: a running duel, and merged lists with team clicks stored directly.

A list is stored the way the endpoints leave it: the visitor's assignment (no variant), the
impression, and click events whose context names the experiment, the list's request id and the
``team`` of the clicked product, as the storefront sends it.
"""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from experiments.models import Assignment, Experiment, Impression
from experiments.services import experiment_create, experiment_start
from shop.models import Customer, Interaction, Order, OrderLine
from shop.tests.factories import ProductFactory

LIST_LENGTH = 6  # team A's products at the even positions, team B's at the odd ones


def duel(key: str = "rank-duel", *, placement: str = "home_for_you", started_days_ago: float = 2, **fields) -> Experiment:
    """A running interleaving experiment: team A is the hybrid control ("Hybrid"), team B ranks by content ("Content")."""
    experiment = experiment_create(
        fields={"key": key, "name": "Hybrid vs content", "placement": placement, "kind": "interleaving", **fields},
        variants=[
            {"key": "hybrid", "name": "Hybrid", "is_control": True, "strategy": "hybrid"},
            {"key": "content", "name": "Content", "strategy": "content"},
        ],
    )
    experiment = experiment_start(experiment=experiment)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=started_days_ago))
    experiment.refresh_from_db()
    return experiment


def shown_lists(experiment: Experiment, visitors: Sequence[Sequence[tuple[int, int]]], *, prefix: str = "shopper") -> list[Customer]:
    """Store, per visitor, their entry and the lists they saw, each list as (clicks on A's products, clicks on B's).

    Returns the visitors' customers in order. Clicks happen an hour ago, entries two hours ago.
    """
    products = [ProductFactory(price=Decimal("12.50")) for _ in range(LIST_LENGTH)]
    entered, clicked = timezone.now() - timedelta(hours=2), timezone.now() - timedelta(hours=1)
    customers = []
    for number, lists in enumerate(visitors):
        customer = Customer.objects.create(customer_id=f"{prefix}-{number}")
        customers.append(customer)
        Assignment.objects.create(
            experiment=experiment, customer=customer, variant=None, assigned_at=entered, request_id=f"{prefix}-{number}-list-0"
        )
        for index, (clicks_a, clicks_b) in enumerate(lists):
            request_id = f"{prefix}-{number}-list-{index}"
            Impression.objects.create(
                customer=customer, request_id=request_id, placement=experiment.placement, experiment=experiment, variant=None,
                strategy="interleaved", positions=list(range(LIST_LENGTH)), product_ids=[p.product_id for p in products],
                timestamp=entered + timedelta(minutes=index), event_id=f"imp-{request_id}",
            )  # fmt: skip
            positions = [(position, "A") for position in range(0, 2 * clicks_a, 2)]
            positions += [(position, "B") for position in range(1, 2 * clicks_b, 2)]
            for position, team in positions:
                Interaction.objects.create(
                    customer=customer, product=products[position], kind="click", timestamp=clicked + timedelta(minutes=index),
                    context={"request_id": request_id, "placement": experiment.placement, "experiment": experiment.key,
                             "position": position, "strategy": "interleaved", "team": team},
                )  # fmt: skip
    return customers


def buys_first_b_product(customer: Customer) -> Order:
    """The visitor adds the product they clicked at position 1 (a team B product) to the cart and orders it, 30 minutes ago."""
    click = Interaction.objects.get(customer=customer, kind="click", context__position=1)
    when = timezone.now() - timedelta(minutes=30)
    Interaction.objects.create(customer=customer, product=click.product, kind="add_to_cart", timestamp=when, context=click.context)
    order = Order.objects.create(number=f"order-{customer.customer_id}", customer=customer, currency="USD", total=click.product.price)
    OrderLine.objects.create(order=order, product=click.product, quantity=1, unit_price=click.product.price)
    Order.objects.filter(pk=order.pk).update(created_at=when)  # created_at is set on insert
    return order


# Fifteen visitors: ten clicked only B's products, one only A's, one as many of each (a tie), one won a list
# for each team (prefers neither), two clicked nothing. Lists won: A 2, B 11, ties 1 (14 lists with clicks);
# delta = (2 - 11) / 14; visitors preferring A 1, B 10: sign test p = 2 x 12 / 2^11.
B_PREFERRED_VISITORS = [[(0, 1)]] * 10 + [[(1, 0)], [(1, 1)], [(0, 1), (1, 0)], [(0, 0)], [(0, 0)]]
B_PREFERRED_P_VALUE = 2 * 12 / 2**11
