# Your own training script: it reads the train channel and writes its model where SageMaker takes it from.
import csv
import json
import os

train = os.environ["SM_CHANNEL_TRAIN"]  # the dataset's train/ folder, as SageMaker lays it out
rows = []
for name in sorted(os.listdir(train)):
    with open(os.path.join(train, name)) as f:
        rows += list(csv.DictReader(f))
xs, ys = [float(r["x"]) for r in rows], [float(r["y"]) for r in rows]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
print(f"slope={slope:.4f}")  # a metric, when the job's metric_definitions name it
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump({"slope": slope, "intercept": my - slope * mx}, f)
