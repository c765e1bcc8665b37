"""The published MovieLens 100K protocol, run with the project's own engine, next to the references."""

import json
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from recommendations.engine.movielens import benchmark_movielens, format_report


class Command(BaseCommand):
    help = "Reproduce the published MovieLens 100K protocol (../shared/data/README.md) and print figures beside the references."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The ml-100k folder (holding u.data and u.item).")
        parser.add_argument("--json", dest="json_path", help="Write the figures to this JSON file.")
        parser.add_argument("--no-time-split", action="store_true", help="Skip the harder per-user time split.")

    def handle(self, *args, path, json_path, no_time_split, **options):
        folder = Path(path)
        if not (folder / "u.data").is_file():
            raise CommandError(f"{folder} has no u.data: pass the ml-100k folder, e.g. ../shared/data/ml-100k")
        report = benchmark_movielens(folder, include_time_split=not no_time_split)
        self.stdout.write(format_report(report))
        if json_path:
            Path(json_path).write_text(json.dumps(self.json_shape(report), indent=2) + "\n")
            self.stdout.write(f"Wrote {json_path}")

    @staticmethod
    def json_shape(report: dict) -> dict:
        """The same shape as `evaluate --json`: {"k", "results": {strategy: metrics}}, plus the references."""
        names = {"popularity": "popularity", "content": "content", "cf": "cf", "hybrid": "hybrid", "hybrid_diversity_off": "hybrid_diversity_off"}
        results = {label: report["results"][name] for name, label in names.items() if name in report["results"]}
        extra = {name: metrics for name, metrics in report["results"].items() if name not in names}
        shaped = {"k": report["k"], "split": report["split"], "results": results, "other_models": extra,
                  "references": report["references"]}
        if "time_split" in report:
            shaped["time_split"] = report["time_split"]
        return shaped
