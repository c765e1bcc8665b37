"""Rehearse a running experiment with synthetic shoppers through the real endpoints, then print its results."""

from django.core.management import BaseCommand, CommandError, call_command

from experiments.models import Experiment
from experiments.simulation import (
    INTERLEAVED,
    OUTSIDE,
    SimulationError,
    SimulationOptions,
    SimulationReport,
    experiment_simulate,
)

DEFAULTS = SimulationOptions(visitors=1000)


class Command(BaseCommand):
    help = (
        "Send synthetic shoppers through a running experiment's placement using the storefront's own endpoints "
        "(list, impression, click, add to cart, checkout), with a known true effect: a treatment shopper clicks "
        "with probability base-ctr x (1 + lift). In an interleaving experiment each shopper gets the merged list and "
        "clicks each position with probability base-ctr x its position bias, x (1 + lift) for a product team B "
        "placed (lift: the true preference for B). The same --seed replays the same shoppers. Writes real rows: "
        "run it on a demo or staging database, never on production."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="The running experiment's key.")
        parser.add_argument("--visitors", type=int, default=DEFAULTS.visitors, help=f"Shoppers to send (default {DEFAULTS.visitors:,}).")
        parser.add_argument("--lift", type=float, default=DEFAULTS.lift,
                            help="True relative change of the treatments' click probability, above -1 (0.2 = +20 %%; default 0). "
                                 "Interleaving: of the click probability of the products team B placed.")  # fmt: skip
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="Random seed: the same seed, the same shoppers (default 0).")
        parser.add_argument("--base-ctr", type=float, default=DEFAULTS.base_ctr,
                            help=f"The control's chance that a shopper clicks a product of the list (default {DEFAULTS.base_ctr:g}).")  # fmt: skip
        parser.add_argument("--cart-rate", type=float, default=DEFAULTS.cart_rate,
                            help=f"Chance that a click leads to an add to cart, in every arm (default {DEFAULTS.cart_rate:g}).")  # fmt: skip
        parser.add_argument("--base-conversion", type=float, default=DEFAULTS.base_conversion,
                            help="The control's share of shoppers who order the clicked product; at most base-ctr x cart-rate "
                                 f"(default {DEFAULTS.base_conversion:g}).")  # fmt: skip
        parser.add_argument("--k", type=int, default=DEFAULTS.k, help=f"Products per list (default {DEFAULTS.k}, as the storefront asks).")
        parser.add_argument("--treatment", default=None, help="The one variant the lift applies to (default: every treatment).")
        parser.add_argument("--no-report", action="store_true", help="Do not print the results at the end.")

    def handle(self, *args, key: str, **options):
        experiment = Experiment.objects.filter(key=key).first()
        if experiment is None:
            raise CommandError(f"No experiment '{key}'.")
        if experiment.status != Experiment.Status.RUNNING:
            raise CommandError(f"Experiment '{key}' is {experiment.status}, not running: start it first.")
        simulation = SimulationOptions(
            visitors=options["visitors"],
            lift=options["lift"],
            seed=options["seed"],
            base_ctr=options["base_ctr"],
            cart_rate=options["cart_rate"],
            base_conversion=options["base_conversion"],
            k=options["k"],
            treatment=options["treatment"],
        )
        problems = simulation.errors()
        if problems:
            raise CommandError(" ".join(problems))

        if experiment.is_interleaving:
            self.stdout.write(
                f"Simulating {simulation.visitors:,} shoppers on {experiment.placement} for interleaving experiment '{key}' "
                f"(seed {simulation.seed}): a merged list draws {simulation.base_ctr:g} clicks on average without preference, "
                f"spread over positions by 1/(position + 1); products team B placed are clicked x{1 + simulation.lift:g} as often "
                f"(true preference for B {simulation.lift:+.1%}); add to cart {simulation.cart_rate:.0%} of clicks, "
                f"then order {simulation.order_rate:.0%} of those."
            )
        else:
            self.stdout.write(
                f"Simulating {simulation.visitors:,} shoppers on {experiment.placement} for '{key}' (seed {simulation.seed}): "
                f"control clicks {simulation.base_ctr:.1%}, treatment{'' if simulation.treatment is None else ' ' + simulation.treatment} "
                f"{simulation.base_ctr * (1 + simulation.lift):.1%} (true lift {simulation.lift:+.1%}); "
                f"add to cart {simulation.cart_rate:.0%} of clicks, control conversion {simulation.base_conversion:.2%}."
            )

        def progress(done: int, report: SimulationReport) -> None:
            rate = done / report.seconds if report.seconds else 0.0
            self.stdout.write(f"  {done:>8,} / {simulation.visitors:,} shoppers  {report.seconds:7.1f} s  {rate:6.0f} shoppers/s")

        try:
            report = experiment_simulate(
                experiment=experiment, options=simulation, on_progress=progress, progress_every=max(1, simulation.visitors // 10)
            )
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_summary(report))
        if not options["no_report"]:
            self.stdout.write("")
            call_command("experiment_report", key, stdout=self.stdout, stderr=self.stderr)


def _summary(report: SimulationReport) -> str:
    lines = [
        f"Done: {report.visitors:,} shoppers, {report.requests:,} requests in {report.seconds:.1f} s "
        f"({report.visitors / report.seconds if report.seconds else 0:,.0f} shoppers/s, "
        f"{report.seconds * 1000 / max(report.requests, 1):.1f} ms a request). What they did:"
    ]
    for arm, tally in sorted(report.arms.items()):
        if arm == INTERLEAVED:
            what = f"clicks per list {tally.click_probability:g} without preference"
        else:
            what = f"click probability {tally.click_probability:.1%}"
        lines.append(
            f"  {arm or '(outside the experiment)':<24} {tally.visitors:>7,} shoppers  {tally.impressions:>7,} impressions  "
            f"{tally.clicks:>6,} clicks  {tally.carts:>6,} add-to-carts  {tally.orders:>6,} orders  revenue {tally.revenue:,.2f}  "
            f"({what})"
        )
    for team, tally in sorted(report.teams.items()):
        lines.append(
            f"    team {team} ({tally.key}){'':<{max(0, 14 - len(tally.key))}} {tally.clicks:>6,} clicks  {tally.carts:>6,} add-to-carts  "
            f"{tally.orders:>6,} orders  revenue {tally.revenue:,.2f}  {tally.lists_won:>6,} lists won  (clicked x{tally.click_weight:g})"
        )
    if report.teams:
        lines.append(f"    {report.ties:,} lists with as many clicks on each team (ties)")
    if report.empty_lists:
        lines.append(f"  {report.empty_lists:,} lists came back empty (nothing to show, so no impression).")
    if report.checkouts_refused:
        lines.append(f"  {report.checkouts_refused:,} checkouts were refused (sold out or no longer sold).")
    if report.teams and not report.replayable:
        lines.append("  Note: the list endpoint minted its own request ids (the merges' seeds), so the same --seed may merge other lists.")
    if OUTSIDE in report.arms:
        lines.append("  Shoppers outside the experiment's traffic saw the placement's default list and are not analysed.")
    return "\n".join(lines)
