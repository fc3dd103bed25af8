"""Evaluate a results file from Python and print AP, AP50, AP75, AR1, AR10 per category.

    python examples/evaluate_results.py examples/demo/valid/instances.json results.json
"""

from __future__ import annotations

import sys

from vistool.eval.ytvis import evaluate_files


def main() -> None:
    gt_path, results_path = sys.argv[1:3]
    result = evaluate_files(gt_path, results_path)
    print(" ".join(f"{k} {result.stats[k]:.3f}" for k in ("AP", "AP50", "AP75", "AR1", "AR10")))
    for category in result.per_category:
        print(f"  {category.name:<10} AP {category.stats['AP']:.3f}  ({category.num_gt} ground-truth tracks)")


if __name__ == "__main__":
    main()
