"""Offline evaluation on the store's own data: which strategy and which hybrid blend rank best."""

import json
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from recommendations.models import RecommenderSettings
from recommendations.services import training_params
from recommendations.store_training import evaluate_from_database

METRIC_COLUMNS = [("precision", "P@{k}"), ("recall", "R@{k}"), ("ndcg", "NDCG@{k}"), ("map", "MAP"), ("coverage", "coverage"), ("ild", "ILD@{k}")]


class Command(BaseCommand):
    help = (
        "Evaluate popularity, content, CF and hybrid blends on a per-user time split of the store's interactions, "
        "with intra-list diversity (ILD) and catalogue coverage beside the ranking metrics, and the best blend "
        "with and without the diversity re-ranking of the recommender settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="json_path", help="Write the figures to this JSON file.")
        parser.add_argument("--plot", dest="plot_path", help="Write a PNG of each metric against the hybrid's content weight.")
        parser.add_argument("--max-users", type=int, default=5000, help="Evaluate on a seeded sample of at most this many customers (their last 20%% of events by time are held out; everyone else's events all train).")
        parser.add_argument(
            "--weights", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1",
            help="Comma-separated content weights to try for the hybrid (w_cf = 1 - w_content).",
        )

    def handle(self, *args, json_path, plot_path, max_users, weights, **options):
        try:
            eval_weights = [float(w) for w in weights.split(",")]
        except ValueError:
            raise CommandError(f"--weights must be comma-separated numbers, got {weights!r}") from None
        if not all(0 <= w <= 1 for w in eval_weights):
            raise CommandError("--weights must lie between 0 and 1")
        params = {**training_params(recommender_settings=RecommenderSettings.load()),
                  "eval_weights": eval_weights, "eval_max_users": max_users}
        report = evaluate_from_database(params=params)
        if report.get("skipped"):
            raise CommandError(f"Nothing to evaluate: {report['skipped']}.")

        self.stdout.write(self.format_table(report))
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
            self.stdout.write(f"Wrote {json_path}")
        if plot_path:
            self.plot(report, Path(plot_path))
            self.stdout.write(f"Wrote {plot_path}")

    @staticmethod
    def format_table(report: dict) -> str:
        k = report["k"]
        split = report.get("split", {})
        header = f"{'strategy':<28}" + "".join(f"{label.format(k=k):>11}" for _, label in METRIC_COLUMNS)
        lines = [
            f"Store evaluation: {split.get('protocol', '')}, {split.get('train', 0):,} train / "
            f"{split.get('test', 0):,} test events, {report['results']['cf'].get('users', 0):,} users scored",
            header,
            "-" * len(header),
        ]

        def row(label: str, metrics: dict) -> str:
            return f"{label:<28}" + "".join(f"{metrics[name]:>11.4f}" for name, _ in METRIC_COLUMNS)

        for name in ("popularity", "content", "cf"):
            lines.append(row(name, report["results"][name]))
        best = report["results"]["hybrid"]
        for blend in report.get("blends", []):
            label = f"hybrid {blend['w_content']:.2f}/{blend['w_cf']:.2f}"
            marker = " *" if blend["w_content"] == best["w_content"] else ""
            lines.append(row(label, blend) + marker)
        if "hybrid_diversity_off" in report["results"]:
            lines.append(row(f"hybrid {best['w_content']:.2f}/{best['w_cf']:.2f} div. off", report["results"]["hybrid_diversity_off"]))
        lines.append(f"* best blend: w_content {best['w_content']:.2f}, w_cf {best['w_cf']:.2f}")
        lines.append(
            f"Hybrid rows re-rank with diversity {best.get('diversity', 0.0):.2f} (MMR over content similarity)"
            f" and category cap {best.get('category_cap', 0) or 'none'}, as the recommender settings say;"
            " ILD is the mean 1 - content similarity within a list, coverage the share of products in any list."
        )
        return "\n".join(lines)

    @staticmethod
    def plot(report: dict, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        blends = report["blends"]
        weights = [b["w_content"] for b in blends]
        figure, axes = plt.subplots(1, 4, figsize=(16, 4), constrained_layout=True)
        for axis, (name, label) in zip(axes, METRIC_COLUMNS[:4]):
            label = label.format(k=report["k"])
            axis.plot(weights, [b[name] for b in blends], marker="o", label="hybrid")
            for strategy, style in (("popularity", ":"), ("content", "--"), ("cf", "-.")):
                axis.axhline(report["results"][strategy][name], linestyle=style, color="grey", label=strategy)
            axis.set_title(label)
            axis.set_xlabel("w_content (w_cf = 1 - w_content)")
        axes[0].legend(loc="best", fontsize="small")
        figure.suptitle("Store evaluation: metric against hybrid content weight")
        figure.savefig(path, dpi=100)
        plt.close(figure)
