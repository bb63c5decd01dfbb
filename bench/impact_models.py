#!/usr/bin/env python3
"""Writes a portfolio of generated projects for bench/impact.sh: PROJECTS directories
`OUT/pNNNNN/model.json`, each the online shop (examples/online-shop/model.toml) twice over
(the second copy's ids suffixed `-b`): 22 components, 4 boundaries and 30 flows, 56 elements.
Projects differ deterministically (seeded by their number): some properties flipped, some
mitigation statuses dropped, so that their threat models differ.

    bench/impact_models.py OUT PROJECTS
"""

import copy
import json
import random
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def doubled(model, suffix):
    twin = {"component": [], "boundary": [], "flow": [], "mitigation-status": []}
    rename = lambda element: element + suffix
    for component in model["component"]:
        copy_ = copy.deepcopy(component)
        copy_["id"] = rename(copy_["id"])
        twin["component"].append(copy_)
    for boundary in model.get("boundary", []):
        copy_ = copy.deepcopy(boundary)
        copy_["id"] = rename(copy_["id"])
        copy_["contains"] = [rename(element) for element in copy_.get("contains", [])]
        twin["boundary"].append(copy_)
    for flow in model["flow"]:
        copy_ = copy.deepcopy(flow)
        copy_["id"] = rename(copy_["id"])
        copy_["source"] = rename(copy_["source"])
        copy_["target"] = rename(copy_["target"])
        twin["flow"].append(copy_)
    for status in model.get("mitigation-status", []):
        if "at" not in status:  # everywhere already
            continue
        copy_ = copy.deepcopy(status)
        copy_["at"] = [rename(element) for element in copy_["at"]]
        twin["mitigation-status"].append(copy_)
    return twin


def main():
    out, projects = Path(sys.argv[1]), int(sys.argv[2])
    with open(ROOT / "examples/online-shop/model.toml", "rb") as file:
        shop = tomllib.load(file)
    shop.pop("story", None)
    twin = doubled(shop, "-b")
    for number in range(projects):
        rng = random.Random(number)
        model = copy.deepcopy(shop)
        model["model"] = {"name": f"Project {number}"}
        for key, values in copy.deepcopy(twin).items():
            model.setdefault(key, []).extend(values)
        for component in model["component"]:
            properties = component.setdefault("properties", {})
            for name, value in list(properties.items()):
                if isinstance(value, bool) and rng.random() < 0.1:
                    properties[name] = not value
        model["mitigation-status"] = [
            status for status in model["mitigation-status"] if rng.random() < 0.8
        ]
        directory = out / f"p{number:05}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.json").write_text(json.dumps(model))


main()
