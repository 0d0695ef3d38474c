"""Churn classifier: logistic regression by gradient descent, in plain Python (no dependencies).

Runs as a SageMaker training script: every CSV in the train channel (SM_CHANNEL_TRAIN) and the validation
channel (SM_CHANNEL_VALIDATION), hyperparameters as --name value, the model to SM_MODEL_DIR and an evaluation to
SM_OUTPUT_DATA_DIR (SageMaker uploads it as output.tar.gz). Prints `epoch=… loss=… val_accuracy=…`, which the
job's metric definitions pick up.
"""

import argparse
import csv
import json
import math
import os
import time

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months"]


def load(folder):
    """Every CSV file in a channel's folder, as script-mode examples read their channels."""
    rows = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv"):
            with open(os.path.join(folder, name)) as handle:
                rows += list(csv.DictReader(handle))
    return [[float(r[f]) for f in FEATURES] for r in rows], [int(r["churned"]) for r in rows]


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning_rate", type=float, default=0.5)
    parser.add_argument("--sleep_per_epoch", type=float, default=0.0)
    args, _ = parser.parse_known_args()

    x_train, y_train = load(os.environ["SM_CHANNEL_TRAIN"])
    x_val, y_val = load(os.environ["SM_CHANNEL_VALIDATION"])
    means = [sum(col) / len(col) for col in zip(*x_train, strict=True)]
    stds = [
        max(1e-9, (sum((v - m) ** 2 for v in col) / len(col)) ** 0.5)
        for col, m in zip(zip(*x_train, strict=True), means, strict=True)
    ]

    def scale(rows):
        return [[(v - m) / s for v, m, s in zip(row, means, stds, strict=True)] for row in rows]

    x_train, x_val = scale(x_train), scale(x_val)
    weights, bias = [0.0] * len(FEATURES), 0.0
    for epoch in range(1, args.epochs + 1):
        grad_w, grad_b, loss = [0.0] * len(weights), 0.0, 0.0
        for row, label in zip(x_train, y_train, strict=True):
            p = sigmoid(sum(w * v for w, v in zip(weights, row, strict=True)) + bias)
            loss -= label * math.log(max(p, 1e-12)) + (1 - label) * math.log(max(1 - p, 1e-12))
            for i, v in enumerate(row):
                grad_w[i] += (p - label) * v
            grad_b += p - label
        n = len(x_train)
        weights = [w - args.learning_rate * g / n for w, g in zip(weights, grad_w, strict=True)]
        bias -= args.learning_rate * grad_b / n
        if epoch % 10 == 0 or epoch == args.epochs:
            correct = sum(
                (sigmoid(sum(w * v for w, v in zip(weights, row, strict=True)) + bias) >= 0.5) == bool(label)
                for row, label in zip(x_val, y_val, strict=True)
            )
            print(f"epoch={epoch} loss={loss / n:.4f} val_accuracy={correct / len(y_val):.4f}", flush=True)
        time.sleep(args.sleep_per_epoch)

    model_dir = os.environ.get("SM_MODEL_DIR", ".")
    with open(os.path.join(model_dir, "model.json"), "w") as handle:
        json.dump(
            {"features": FEATURES, "weights": weights, "bias": bias, "means": means, "stds": stds}, handle
        )
    with open(os.path.join(os.environ.get("SM_OUTPUT_DATA_DIR", "."), "evaluation.json"), "w") as handle:
        json.dump({"validation_accuracy": correct / len(y_val), "validation_rows": len(y_val)}, handle)
    print("model saved", flush=True)


if __name__ == "__main__":
    main()
