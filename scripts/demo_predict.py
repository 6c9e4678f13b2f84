"""make demo's last step: `rakuten-edge predict` on the first product of split_val, its true class beside it."""

import csv
import subprocess
import sys
from pathlib import Path

from rakuten_edge.categories import categories

split = Path("data/prepared/split_val")
with open(split / "data.csv", encoding="utf-8", newline="") as f:
    row = next(csv.DictReader(f))
image = split / row["prdtypecode"] / f"image_{row['imageid']}_product_{row['productid']}.jpg"
name = {c.prdtypecode: c.name_fr for c in categories()}[int(row["prdtypecode"])]
print(f"split_val product {row['productid']}: true class {row['prdtypecode']} ({name})")
print(f"text: {row['text'][:100]}{'…' if len(row['text']) > 100 else ''}")
sys.exit(subprocess.call([str(Path(sys.executable).with_name("rakuten-edge")), "predict", str(image), row["text"]]))
