#!/usr/bin/env python3
"""Equivalent inputs for threatpack and OWASP pytm, for the `apply` benchmark (bench/apply.sh).

    python3 bench/pytm_equivalent.py generate OUT_DIR [--components 10000] [--flows 20000]
        [--boundaries N] [--threats 1000] [--seed 1] [--threats-file FILE] [--pytm-data DIR]
    python3 bench/pytm_equivalent.py compare OUT_DIR --pytm FINDINGS.tsv
        [--threatpack FINDINGS.json]

`generate` writes into OUT_DIR (new or empty):

    pack/               a threatpack pack translated from pytm's own threat library
                        (../shared/data/pytm/threats.json, MIT, attribution in pack/NOTICE.md;
                        or --threats-file, a library in the same format, translated the same way)
    model.toml          a threatpack system model
    model.json          the same model in JSON (threatpack's format; faster to load when large)
    pytm/threats.json   the same threats for pytm (replicated to --threats with suffixed SIDs)
    pytm/model.json     the same system for pytm, as data
    pytm/model.py       a pytm model script that builds TM/Server/Dataflow/... from model.json
    stats.json          elements, threats, pairs, and pairs whose element class matches the threat
    reference.tsv       (with --reference) the findings the translated pack must give on model.toml,
                        computed here by evaluating the translated conditions in Python (`evaluate`)

Everything is a function of the arguments: a seeded SplitMix64 generator, no clock, no hash
order. Two runs with the same arguments write byte-identical files.

`compare` checks that the tools agree, finding by finding (threat id, element id): pytm's
findings (`python3 OUT/pytm/model.py --findings FILE`), the reference evaluation, and, when
given, threatpack's (`threatpack apply --format json`). It prints the count per threat and
element kind and every difference, and exits 1 on any difference.

Why Python: the generator must read pytm's conditions, which are Python expressions, and the
safest way to translate them is to parse them with Python's own `ast` (as pytm does) rather than
with a hand-written parser; and it writes a pytm model, which is a Python program. It needs only
the standard library; pytm itself (`pip install pytm==1.4.0`) is needed to run the pytm model,
and, when it is importable, `generate` checks its tables of pytm defaults against it.

How the translation works (docs/benchmarks.md, "`apply`", lists what is approximated):

- Each pytm element class becomes an entity: Server, Process, SetOfProcesses (child of Process,
  as in pytm), Lambda, LLM and Agent are `process`; Datastore is `data-store`; ExternalEntity
  and Actor are `external-interactor`; Dataflow is `data-flow`; Boundary is `trust-boundary`.
- An entity declares, as typed properties, exactly the pytm attributes that conditions read on
  that class (controls flattened: `target.controls.sanitizesInput` -> `self.sanitizes_input`),
  with pytm's defaults. Attributes read through `target.source`/`target.sink` of a data flow are
  declared on every component entity (`source.x`/`target.x` in CEL). Ordered enums become ints
  (TLSVersion 0-7, Classification 0-5).
- Conditions are translated node by node from the Python AST: `x is True` -> `x`,
  `x is False`/`not x` -> `!x`, `and`/`or` -> `&&`/`||`, comparisons as they are.
- The helpers: `target.hasDataLeaks()` compares the flow's highest data classification
  (`data_max_classification`) with the classifications of the flow and both ends, which is what
  pytm computes; `target.checkTLSVersion(target.inputs)` on a Server compares the lowest TLS
  version of the server's incoming flows (`weakest_input_tls_version`) with its minimum;
  `any(P(d) for d in target.data)` becomes a membership test on `data_traits`, a list of the
  per-datum predicates (`format-json`, `stored-and-dest-encrypted-at-rest`, ...) that hold for
  some datum of the element. These derived properties are computed by the model generator from
  the same data pytm gets.
- pytm rewrites flows before it evaluates anything (`_apply_defaults`): a flow takes its
  protocol and `isEncrypted` from its sink (a response flow: from its source), the
  destination-authentication controls from its source, it inherits its source's data, and its
  stored data takes the at-rest encryption of its ends. The threatpack model states the
  resulting values on the flow, which is what a modeler would write.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# pytm's threat library and its licence; `--pytm-data DIR` (or PYTM_DATA) points elsewhere.
PYTM_DATA = Path(os.environ.get("PYTM_DATA", REPO.parent / "shared" / "data" / "pytm"))
PYTM_COMMIT = "86ccaa8601f19af69ed87fe0c171e520e3f30cf4"

# ---------------------------------------------------------------------------------------------
# Deterministic randomness


class SplitMix64:
    """SplitMix64: a tiny generator whose output depends only on the seed (unlike `random`,
    whose helpers have changed between Python versions)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n

    def chance(self, percent: int) -> bool:
        return self.below(100) < percent

    def choice(self, items):
        return items[self.below(len(items))]


# ---------------------------------------------------------------------------------------------
# pytm's classes, the attributes conditions may read, and their defaults (pytm 1.4.0 source:
# element.py, asset.py, actor.py, datastore.py, process.py, dataflow.py, base.py). `generate`
# checks these against pytm when it is importable.

# kind: bool, str, int, tls (TLSVersion, ordered, 0-7), classification (Classification, 0-5)
ELEMENT_ATTRIBUTES = {
    "inScope": ("bool", True),
    "maxClassification": ("classification", 0),
    "minTLSVersion": ("tls", 0),
}
ASSET_ATTRIBUTES = {
    "port": ("int", -1),
    "protocol": ("str", ""),
    "onAWS": ("bool", False),
    "handlesResources": ("bool", False),
    "usesEnvironmentVariables": ("bool", False),
    "OS": ("str", ""),
}
CLASS_ATTRIBUTES = {
    "Actor": {"port": ("int", -1), "protocol": ("str", ""), "isAdmin": ("bool", False)},
    "Lambda": {
        "onAWS": ("bool", True),
        "environment": ("str", ""),
        "implementsAPI": ("bool", False),
    },
    "Server": {
        "usesSessionTokens": ("bool", False),
        "usesCache": ("bool", False),
        "usesVPN": ("bool", False),
        "usesXMLParser": ("bool", False),
    },
    "ExternalEntity": {"hasPhysicalAccess": ("bool", False)},
    "Agent": {
        "usesExternalTools": ("bool", False),
        "validatesToolLaunchConfig": ("bool", False),
    },
    "LLM": {
        "isThirdParty": ("bool", True),
        "isSelfHosted": ("bool", False),
        "processesPersonalData": ("bool", False),
        "retainsUserData": ("bool", False),
        "hasAgentCapabilities": ("bool", False),
        "hasAccessToSensitiveSystems": ("bool", False),
        "executesCode": ("bool", False),
        "hasContentFiltering": ("bool", False),
        "hasSystemPrompt": ("bool", True),
        "processesUntrustedInput": ("bool", True),
        "hasRAG": ("bool", False),
        "hasFineTuning": ("bool", False),
    },
    "Datastore": {
        "onRDS": ("bool", False),
        "storesLogData": ("bool", False),
        "storesPII": ("bool", False),
        "storesSensitiveData": ("bool", False),
        "isSQL": ("bool", True),
        "isShared": ("bool", False),
        "hasWriteAccess": ("bool", False),
    },
    "Process": {
        "codeType": ("str", "Unmanaged"),
        "implementsCommunicationProtocol": ("bool", False),
        "tracksExecutionFlow": ("bool", False),
        "implementsAPI": ("bool", False),
        "environment": ("str", ""),
        "allowsClientSideScripting": ("bool", False),
    },
    "Dataflow": {
        "isResponse": ("bool", False),
        "srcPort": ("int", -1),
        "dstPort": ("int", -1),
        "tlsVersion": ("tls", 0),
        "protocol": ("str", ""),
        "order": ("int", -1),
        "implementsCommunicationProtocol": ("bool", False),
        "note": ("str", ""),
        "usesVPN": ("bool", False),
        "usesSessionTokens": ("bool", False),
    },
    "Boundary": {},
}
CONTROLS = {
    name: ("bool", False)
    for name in """authenticatesDestination authenticatesSource authorizesSource
    checksDestinationRevocation checksInputBounds definesConnectionTimeout disablesDTD
    disablesiFrames encodesHeaders encodesOutput encryptsCookies encryptsSessionData
    handlesCrashes handlesInterruptions handlesResourceConsumption hasAccessControl
    implementsAuthenticationScheme implementsCSRFToken implementsNonce implementsPOLP
    implementsServerSideValidation implementsStrictHTTPValidation invokesScriptFilters
    isEncrypted isEncryptedAtRest isHardened isResilient providesConfidentiality
    providesIntegrity sanitizesInput tracksExecutionFlow usesCodeSigning usesMFA
    usesParameterizedInput usesSecureFunctions usesStrongSessionIdentifiers usesVPN
    validatesContentType validatesHeaders validatesInput verifySessionIdentifiers""".split()
}
CONTROLS["authenticationScheme"] = ("str", "")
CONTROLS["usesEncryptionAlgorithm"] = ("str", "")

# pytm class -> (parent class in pytm, threatpack entity id, DFD kind, parent entity)
CLASSES = {
    "Server": ("Asset", "server", "process", None),
    "Process": ("Asset", "process", "process", None),
    "SetOfProcesses": ("Process", "set-of-processes", None, "process"),
    "Lambda": ("Asset", "lambda", "process", None),
    "LLM": ("Asset", "llm", "process", None),
    "Agent": ("Asset", "agent", "process", None),
    "Datastore": ("Asset", "datastore", "data-store", None),
    "ExternalEntity": ("Asset", "external-entity", "external-interactor", None),
    "Actor": ("Element", "actor", "external-interactor", None),
    "Dataflow": ("Element", "dataflow", "data-flow", None),
    "Boundary": ("Element", "boundary", "trust-boundary", None),
}
COMPONENT_CLASSES = [name for name, spec in CLASSES.items() if name not in ("Dataflow", "Boundary")]

# Share of each class among the generated components (percent, summing to 100).
COMPONENT_MIX = [
    ("Server", 24),
    ("Process", 20),
    ("SetOfProcesses", 5),
    ("Lambda", 10),
    ("Datastore", 20),
    ("ExternalEntity", 8),
    ("Actor", 8),
    ("LLM", 3),
    ("Agent", 2),
]

# Derived properties: not pytm attributes, but summaries of what pytm's helper methods compute.
DERIVED = {
    "data_traits": "list",
    "data_max_classification": "classification",
    "weakest_input_tls_version": "tls",
}
DERIVED_DEFAULTS = {"data_traits": [], "data_max_classification": 0, "weakest_input_tls_version": 7}

LIFETIMES = ["NONE", "UNKNOWN", "SHORT", "LONG", "AUTO", "MANUAL", "HARDCODED"]


def class_chain(pytm_class: str) -> list[str]:
    """The class and its pytm ancestors, nearest first (Element last)."""
    chain = []
    current = pytm_class
    while current in CLASSES:
        chain.append(current)
        current = CLASSES[current][0]
    if current == "Asset":
        chain.append("Asset")
    chain.append("Element")
    return chain


def attribute_spec(pytm_class: str, path: str):
    """(kind, default) of `path` ("protocol", "controls.sanitizesInput") on `pytm_class`."""
    if path.startswith("controls."):
        return CONTROLS[path.split(".", 1)[1]]
    for name in class_chain(pytm_class):
        table = {"Asset": ASSET_ATTRIBUTES, "Element": ELEMENT_ATTRIBUTES}.get(name) or CLASS_ATTRIBUTES.get(name, {})
        if path in table:
            return table[path]
    raise KeyError(f"{pytm_class} has no attribute {path}")


SNAKE_OVERRIDES = {"disablesiFrames": "disables_iframes", "OS": "os"}


def snake(name: str) -> str:
    """pytm's camelCase to a threatpack property name: usesVPN -> uses_vpn."""
    if name in SNAKE_OVERRIDES:
        return SNAKE_OVERRIDES[name]
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def kebab(name: str) -> str:
    return snake(name).replace("_", "-")


def property_name(path: str) -> str:
    return path if path in DERIVED else snake(path.split(".")[-1])


# ---------------------------------------------------------------------------------------------
# Translation of pytm conditions (Python) to CEL

OR, AND, COMPARE, UNARY, ATOM = 1, 2, 3, 4, 5


class Untranslatable(Exception):
    pass


class Translation:
    """One condition translated for one threat: the CEL text, the attributes read per role
    (`self`, `source`, `sink`) and the per-datum predicates (traits) it tests."""

    def __init__(self) -> None:
        self.reads: set[tuple[str, str]] = set()
        self.traits: dict[str, str] = {}


class Translator:
    def __init__(self, condition: str) -> None:
        self.condition = condition
        self.result = Translation()

    def translate(self) -> tuple[str, Translation]:
        tree = ast.parse(self.condition, mode="eval")
        text, _ = self.expression(tree.body)
        return text, self.result

    def wrap(self, translated: tuple[str, int], minimum: int) -> str:
        text, precedence = translated
        return f"({text})" if precedence < minimum else text

    def expression(self, node: ast.AST) -> tuple[str, int]:
        if isinstance(node, ast.BoolOp):
            own = OR if isinstance(node.op, ast.Or) else AND
            joiner = " || " if own == OR else " && "
            # `a && b || c` needs no parentheses in CEL either, but they make it easier to read.
            return joiner.join(self.wrap(self.expression(value), own + 1) for value in node.values), own
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return "!" + self.wrap(self.expression(node.operand), UNARY), UNARY
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node), ATOM
        if isinstance(node, ast.Call):
            return self.call(node)
        raise Untranslatable(f"unsupported syntax {type(node).__name__}")

    def compare(self, node: ast.Compare) -> tuple[str, int]:
        if len(node.ops) != 1:
            raise Untranslatable("chained comparison")
        op, right = node.ops[0], node.comparators[0]
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (isinstance(right, ast.Constant) and isinstance(right.value, bool)):
                raise Untranslatable("`is` with something other than True/False")
            positive = right.value == isinstance(op, ast.Is)
            left = self.attribute(node.left)
            return (left, ATOM) if positive else (f"!{left}", UNARY)
        symbols = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
        if type(op) not in symbols:
            raise Untranslatable(f"operator {type(op).__name__}")
        return f"{self.value(node.left)} {symbols[type(op)]} {self.value(right)}", COMPARE

    def value(self, node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return json.dumps(node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return str(node.value)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ENUM_NAMES:
            # `Classification.SECRET`, `TLSVersion.TLSv12`: ordered enums are ints (see the header).
            names = ENUM_NAMES[node.value.id]
            if node.attr not in names:
                raise Untranslatable(f"{node.value.id} has no member {node.attr}")
            return str(names.index(node.attr))
        return self.attribute(node)

    def chain(self, node: ast.AST) -> list[str]:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not (isinstance(node, ast.Name) and node.id == "target"):
            raise Untranslatable("attribute not on `target`")
        return list(reversed(parts))

    def read(self, role: str, path: str) -> str:
        self.result.reads.add((role, path))
        variable = {"self": "self", "source": "source", "sink": "target"}[role]
        return f"{variable}.{property_name(path)}"

    def attribute(self, node: ast.AST) -> str:
        parts = self.chain(node)
        role = "self"
        if parts[0] in ("source", "sink"):
            role, parts = parts[0], parts[1:]
        if len(parts) == 2 and parts[0] == "controls":
            return self.read(role, "controls." + parts[1])
        if len(parts) == 1 and parts[0] not in ("data", "inputs", "outputs", "controls"):
            return self.read(role, parts[0])
        raise Untranslatable(f"attribute target.{'.'.join(parts)}")

    def call(self, node: ast.Call) -> tuple[str, int]:
        function = node.func
        if isinstance(function, ast.Name) and function.id == "any":
            return self.any_data(node)
        if isinstance(function, ast.Attribute) and self.chain(function) == ["hasDataLeaks"] and not node.args:
            # Dataflow.hasDataLeaks(): any(d.classification > source.maxClassification or
            # d.classification > sink.maxClassification or d.classification >
            # self.maxClassification for d in self.data), i.e. the largest classification of the
            # flow's data exceeds one of the three (and never when the flow carries no data).
            highest = self.read("self", "data_max_classification")
            bounds = [self.read(role, "maxClassification") for role in ("source", "sink", "self")]
            return " || ".join(f"{highest} > {bound}" for bound in bounds), OR
        if isinstance(function, ast.Attribute) and self.chain(function) == ["checkTLSVersion"]:
            # Element.checkTLSVersion(flows): any(f.tlsVersion < self.minTLSVersion for f in
            # flows); pytm's conditions pass `target.inputs`, the non-response flows into it.
            if len(node.args) != 1 or self.chain(node.args[0]) != ["inputs"]:
                raise Untranslatable("checkTLSVersion of something other than target.inputs")
            return f"{self.read('self', 'weakest_input_tls_version')} < {self.read('self', 'minTLSVersion')}", COMPARE
        raise Untranslatable(f"call {ast.unparse(node)}")

    def any_data(self, node: ast.Call) -> tuple[str, int]:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.GeneratorExp):
            raise Untranslatable("any() without a generator")
        generator = node.args[0]
        loop = generator.generators[0]
        if len(generator.generators) != 1 or loop.ifs or not isinstance(loop.target, ast.Name) or self.chain(loop.iter) != ["data"]:
            raise Untranslatable("any() over something other than target.data")
        variable = loop.target.id
        # any(A or B for d in data) == any(A ...) or any(B ...): one trait per disjunct.
        tests = []
        for name, predicate in self.disjuncts(generator.elt, variable):
            self.result.traits[name] = predicate
            tests.append(f"{json.dumps(name)} in {self.read('self', 'data_traits')}")
        return " || ".join(tests), (OR if len(tests) > 1 else COMPARE)

    def disjuncts(self, node: ast.AST, variable: str) -> list[tuple[str, str]]:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return [item for value in node.values for item in self.disjuncts(value, variable)]
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In)
            and isinstance(node.comparators[0], (ast.Tuple, ast.List, ast.Set))
        ):
            equalities = [ast.Compare(node.left, [ast.Eq()], [element]) for element in node.comparators[0].elts]
            return [item for equality in equalities for item in self.disjuncts(equality, variable)]
        return [(self.trait_name(node, variable), ast.unparse(node))]

    def trait_name(self, node: ast.AST, variable: str) -> str:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == variable:
            return kebab(re.sub(r"^is(?=[A-Z])", "", node.attr))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            return "-and-".join(self.trait_name(value, variable) for value in node.values)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            left, right = node.left, node.comparators[0]
            if isinstance(left, ast.Attribute) and isinstance(left.value, ast.Name) and left.value.id == variable:
                if isinstance(right, ast.Constant) and isinstance(right.value, str):
                    return f"{kebab(left.attr)}-{right.value.lower()}"
                if isinstance(right, ast.Attribute) and isinstance(right.value, ast.Name):
                    return f"{kebab(left.attr)}-{right.attr.lower()}"
        raise Untranslatable(f"data predicate {ast.unparse(node)}")


# ---------------------------------------------------------------------------------------------
# The threat library

SEVERITIES = {"Very High": "critical", "High": "high", "Medium": "medium", "Low": "low", "Very Low": "info"}
LIKELIHOODS = {"High": "high", "Medium": "medium", "Low": "low"}
# pytm's library has no STRIDE categories; the format requires one. Assigned by SID family,
# for the format only: neither tool reads categories when matching.
CATEGORIES = {
    "INP": ["tampering"],
    "AC": ["elevation-of-privilege"],
    "CR": ["spoofing", "information-disclosure"],
    "DS": ["information-disclosure"],
    "SC": ["tampering"],
    "DO": ["denial-of-service"],
    "AA": ["spoofing"],
    "DE": ["information-disclosure"],
    "HA": ["information-disclosure"],
    "API": ["elevation-of-privilege"],
    "LB": ["tampering"],
    "DR": ["information-disclosure"],
    "LLM": ["tampering", "information-disclosure"],
}


def load_threats(path: Path) -> list[dict]:
    """The active threats of a pytm threat library (pytm skips the ones marked DEPRECATED), in
    file order: pytm's own, or one in the same format (--threats-file)."""
    with open(path, encoding="utf-8") as file:
        threats = json.load(file)
    return [threat for threat in threats if "DEPRECATED" not in threat]


def replicate(threats: list[dict], count: int) -> list[tuple[dict, int]]:
    """`count` threats: the library in order, again and again; copy k > 0 of SID X is X-cK."""
    return [(threats[index % len(threats)], index // len(threats)) for index in range(count)]


def threat_id(threat: dict, copy: int) -> str:
    return threat["SID"] if copy == 0 else f"{threat['SID']}-c{copy}"


def references(text: str) -> dict:
    capec, cwe, urls = [], [], []
    for reference in (part.strip() for part in text.split(",")):
        if match := re.fullmatch(r"https?://capec\.mitre\.org/data/definitions/(\d+)\.html", reference):
            capec.append(int(match.group(1)))
        elif match := re.fullmatch(r"https?://cwe\.mitre\.org/data/definitions/(\d+)\.html", reference):
            cwe.append(int(match.group(1)))
        elif re.fullmatch(r"CVE-\d{4}-\d+", reference):
            urls.append(f"https://www.cve.org/CVERecord?id={reference}")
        elif re.fullmatch(r"https?://\S+", reference):
            urls.append(reference)
    result = {}
    for key, values in (("capec", capec), ("cwe", cwe), ("url", urls)):
        unique = list(dict.fromkeys(values))
        if unique:
            result[key] = unique
    return result


# ---------------------------------------------------------------------------------------------
# TOML output (the standard library reads TOML but does not write it)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (\", \\, \n, \t, \uXXXX).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(type(value))


def toml_text(value: str) -> str:
    """A multi-line literal string when possible (readable), else a basic string."""
    if "'''" not in value and "\r" not in value and not any(ord(c) < 32 and c not in "\n\t" for c in value):
        return "'''\n" + value + ("" if value.endswith("\n") else "\n") + "'''"
    return toml_value(value)


def condition_literal(condition: str) -> str:
    # A literal string: `check` can then point inside it. The translation emits no single quote.
    assert "'" not in condition and "\n" not in condition
    return f"'{condition}'"


# ---------------------------------------------------------------------------------------------
# The pack


class Pack:
    """The translated library: entities with their properties, and one attack pattern (and one
    mitigation) per replicated threat."""

    def __init__(self, threats: list[dict], count: int) -> None:
        self.replicated = replicate(threats, count)
        self.translations: dict[str, tuple[str, Translation]] = {}
        self.traits: dict[str, str] = {}
        # entity id -> {property name: (pytm path, kind, default, sids)}
        self.properties: dict[str, dict[str, list]] = {spec[1]: {} for spec in CLASSES.values()}
        problems = []
        for threat in threats:
            try:
                cel, translation = Translator(threat["condition"]).translate()
            except Untranslatable as error:
                problems.append(f"{threat['SID']}: {error}: {threat['condition']}")
                continue
            self.translations[threat["SID"]] = (cel, translation)
            for name, predicate in translation.traits.items():
                if self.traits.setdefault(name, predicate) != predicate:
                    problems.append(f"trait {name} means two things")
            for role, path in sorted(translation.reads):
                classes = threat["target"] if role == "self" else COMPONENT_CLASSES
                for pytm_class in classes:
                    self.declare(pytm_class, path, threat["SID"])
        if problems:
            raise SystemExit("error: cannot translate:\n  " + "\n  ".join(problems))

    def declare(self, pytm_class: str, path: str, sid: str) -> None:
        entity = CLASSES[pytm_class][1]
        # A property of Process is inherited by SetOfProcesses: declare it once, on the parent.
        parent = CLASSES[pytm_class][3]
        if parent and property_name(path) in self.properties[parent]:
            entity = parent
        name = property_name(path)
        if path in DERIVED:
            kind, default = DERIVED[path], DERIVED_DEFAULTS[path]
        else:
            kind, default = attribute_spec(pytm_class, path)
        declared = self.properties[entity].setdefault(name, [path, kind, default, []])
        if declared[0] != path or declared[1] != kind or declared[2] != default:
            raise SystemExit(f"error: `{name}` of {pytm_class} would mean both {declared[0]} and {path}")
        if sid not in declared[3]:
            declared[3].append(sid)

    def entity_properties(self, entity: str) -> dict[str, list]:
        """Declared and inherited properties of an entity."""
        pytm_class = next(name for name, spec in CLASSES.items() if spec[1] == entity)
        parent = CLASSES[pytm_class][3]
        inherited = dict(self.entity_properties(parent)) if parent else {}
        inherited.update(self.properties[entity])
        return inherited

    def write(self, out: Path) -> None:
        (out / "entities").mkdir(parents=True)
        (out / "attack-patterns").mkdir()
        (out / "mitigations").mkdir()
        (out / "pack.toml").write_text(
            f"""# Generated by bench/pytm_equivalent.py: OWASP pytm's threat library ({len(self.translations)} threats,
# replicated to {len(self.replicated)}) as a threatpack pack. See NOTICE.md.
[pack]
format = 1
name = "bench/pytm-threatlib"
version = "1.4.0"
description = "OWASP pytm 1.4.0's threat library translated into threatpack, for the `apply` benchmark."
license = "MIT"
authors = ["OWASP pytm contributors (threat library)", "threatpack contributors (translation)"]
homepage = "https://github.com/OWASP/pytm"
tiers = ["full"]
""",
            encoding="utf-8",
        )
        shutil.copyfile(PYTM_DATA / "LICENSE-pytm-MIT.txt", out / "LICENSE")
        (out / "NOTICE.md").write_text(
            f"""# Notice

The attack patterns of this pack are translated from the threat library of OWASP pytm
(https://github.com/OWASP/pytm, `pytm/threatlib/threats.json` at commit {PYTM_COMMIT},
tag v1.4.0), Copyright (c) 2018 Main Project Contributors, under the MIT licence (`LICENSE`).

Names, descriptions, details, prerequisites, examples, mitigations and references are pytm's.
The conditions are translated from pytm's Python expressions to CEL by
`bench/pytm_equivalent.py`; the STRIDE categories are assigned by SID family, since pytm's
library has none.
""",
            encoding="utf-8",
        )
        self.write_entities(out / "entities" / "pytm.toml")
        per_file = 120
        for start in range(0, len(self.replicated), per_file):
            chunk = self.replicated[start : start + per_file]
            number = start // per_file + 1
            self.write_attack_patterns(out / "attack-patterns" / f"threats-{number:02}.toml", chunk)
            self.write_mitigations(out / "mitigations" / f"mitigations-{number:02}.toml", chunk)

    def write_entities(self, path: Path) -> None:
        lines = ["# pytm's element classes. Properties: the attributes pytm's threat conditions read."]
        for pytm_class, (_, entity, kind, parent) in CLASSES.items():
            lines += ["", "[[entity]]", f'id = "{entity}"', f'name = "{pytm_class}"']
            lines.append(f"description = {toml_value(f'An element of pytm class `{pytm_class}`.')}")
            lines.append(f'parent = "{parent}"' if parent else f'kind = "{kind}"')
            for name, (pytm_path, property_kind, default, sids) in sorted(self.properties[entity].items()):
                lines += ["", f"[entity.properties.{name}]"]
                lines += property_lines(pytm_class, pytm_path, property_kind, default, sids, sorted(self.traits))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_attack_patterns(self, path: Path, chunk) -> None:
        lines = ["# pytm threats, translated. Copies beyond the library carry a -cN suffix."]
        for threat, copy in chunk:
            sid = threat_id(threat, copy)
            cel, _ = self.translations[threat["SID"]]
            family = re.match(r"[A-Z]+", threat["SID"]).group(0)
            description = threat["details"].strip()
            for title, key in (("Prerequisites", "prerequisites"), ("Example", "example")):
                if threat.get(key, "").strip():
                    description += f"\n\n**{title}.** {threat[key].strip()}"
            description += f"\n\npytm {threat['SID']}, condition: `{threat['condition']}`"
            lines += [
                "",
                "[[attack-pattern]]",
                f'id = "{sid.lower()}"',
                f"name = {toml_value(threat['description'].strip())}",
                f"description = {toml_text(description)}",
                f"categories = {toml_value(CATEGORIES.get(family, ['tampering']))}",
                f"applies-to = {toml_value([CLASSES[name][1] for name in threat['target']])}",
                f"condition = {condition_literal(cel)}",
                f'severity = "{SEVERITIES[threat["severity"]]}"',
            ]
            likelihood = LIKELIHOODS.get(threat.get("Likelihood Of Attack") or "")
            if likelihood:
                lines.append(f'likelihood = "{likelihood}"')
            refs = references(threat.get("references", ""))
            if refs:
                lines += ["", "[attack-pattern.references]"]
                lines += [f"{key} = {toml_value(values)}" for key, values in refs.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_mitigations(self, path: Path, chunk) -> None:
        lines = ["# pytm's mitigation text of each threat, as one mitigation linked to it."]
        for threat, copy in chunk:
            sid = threat_id(threat, copy).lower()
            lines += [
                "",
                "[[mitigation]]",
                f'id = "mitigate-{sid}"',
                f"name = {toml_value('Mitigations for: ' + threat['description'].strip())}",
                f"description = {toml_value(f'The mitigations pytm gives for threat {threat_id(threat, copy)}.')}",
                'control = "preventive"',
                'cost = "medium"',
                f"implementation = {toml_text(threat['mitigations'].strip())}",
                'verification = "Check that the measures described in the implementation are in place on the element of the finding."',
                "",
                "[[mitigation.addresses]]",
                f'attack-pattern = "{sid}"',
                'strength = "average"',
            ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


INT_RANGES = {"tls": (0, 7), "classification": (0, 5)}
TLS_NAMES = "NONE SSLv1 SSLv2 SSLv3 TLSv10 TLSv11 TLSv12 TLSv13".split()
CLASSIFICATION_NAMES = "UNKNOWN PUBLIC RESTRICTED SENSITIVE SECRET TOP_SECRET".split()
ENUM_NAMES = {"TLSVersion": TLS_NAMES, "Classification": CLASSIFICATION_NAMES}


def plural_verb(sids: list[str], verb: str) -> str:
    return verb + "s" if len(sids) == 1 else verb


def threats_phrase(sids: list[str]) -> str:
    return ("threat " if len(sids) == 1 else "threats ") + ", ".join(sids)


def property_lines(pytm_class, pytm_path, kind, default, sids, traits) -> list[str]:
    read_by = threats_phrase(sids)
    if pytm_path == "data_traits":
        return [
            'type = "list"',
            f"values = {toml_value(traits)}",
            "default = []",
            'description = "The per-datum predicates of pytm\'s conditions that hold for at least one datum the element'
            ' carries (pytm `data`, with the data a flow inherits from its source)."',
            'question = "Which of these hold for some piece of data it carries?"',
            f'rationale = "pytm {read_by} {plural_verb(sids, "test")} its data with `any(... for d in target.data)`."',
        ]
    if pytm_path == "data_max_classification":
        classifications = ", ".join(f"{index} {name}" for index, name in enumerate(CLASSIFICATION_NAMES))
        return [
            'type = "int"',
            "min = 0",
            "max = 5",
            "default = 0",
            f'description = "The highest classification of the data the flow carries (pytm Classification: {classifications});'
            ' 0 without data."',
            'question = "What is the most sensitive data it carries?"',
            f'rationale = "pytm {read_by} {plural_verb(sids, "call")} `hasDataLeaks()`:'
            ' data more sensitive than the flow or one of its ends may handle."',
        ]
    if pytm_path == "weakest_input_tls_version":
        return [
            'type = "int"',
            "min = 0",
            "max = 7",
            "default = 7",
            'description = "The lowest TLS version among the flows into it that are not responses (pytm `inputs`);'
            ' 7 (TLSv13) when there are none."',
            'question = "What is the oldest TLS version its clients connect with?"',
            f'rationale = "pytm {read_by} {plural_verb(sids, "call")} `checkTLSVersion(target.inputs)`:'
            ' an input below its minimum TLS version."',
        ]
    attribute = pytm_path.split(".")[-1]
    where = f"`{pytm_class}.{pytm_path}`"
    if kind == "bool":
        lines = ['type = "bool"', f"default = {toml_value(default)}"]
        description = f"pytm {where}."
    elif kind == "str":
        lines = ['type = "string"', f"default = {toml_value(default)}"]
        description = f"pytm {where} (free text in pytm; conditions compare it with fixed strings)."
    elif kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        names = TLS_NAMES if kind == "tls" else CLASSIFICATION_NAMES
        lines = ['type = "int"', f"min = {low}", f"max = {high}", f"default = {default}"]
        description = f"pytm {where}, an ordered enum, as its value: " + ", ".join(f"{i} {n}" for i, n in enumerate(names)) + "."
    else:
        raise SystemExit(f"error: no property type for {kind}")
    if attribute in QUESTIONS:
        words = [attribute]
    else:
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", attribute)).split()
    lines += [
        f"description = {toml_value(description)}",
        f"question = {toml_value(question(words, kind))}",
        f"rationale = {toml_value(f'pytm {read_by} ' + ('reads it.' if len(sids) == 1 else 'read it.'))}",
    ]
    return lines


QUESTIONS = {
    "inScope": "Is it in the scope of the threat model?",
    "verifySessionIdentifiers": "Does it verify session identifiers?",
    "hasRAG": "Does it use retrieval-augmented generation (RAG)?",
    "disablesiFrames": "Does it forbid being framed (iFrames)?",
    "isResponse": "Is it a response to another flow?",
    "isThirdParty": "Is it a third-party service?",
    "usesEncryptionAlgorithm": "Which encryption algorithm does it use?",
    "maxClassification": "What is the most sensitive data classification it may handle?",
    "minTLSVersion": "What is the lowest TLS version it accepts?",
    "tlsVersion": "Which TLS version does it use?",
    "protocol": "Which protocol does it speak (as pytm writes it: HTTP, HTTPS, SOAP, ...)?",
    "environment": "Which environment does it run in (as pytm writes it: Production, ...)?",
}


def question(words: list[str], kind: str) -> str:
    if "".join(words) in QUESTIONS:
        return QUESTIONS["".join(words)]
    phrase = " ".join(word if word.isupper() else word.lower() for word in words[1:])
    verb = words[0].lower()
    if kind != "bool":
        return f"What is its {' '.join(w if w.isupper() else w.lower() for w in words)}?"
    if verb == "is":
        return f"Is it {phrase}?"
    if verb == "has":
        return f"Does it have {phrase}?"
    base = {"processes": "process", "uses": "use"}.get(verb)
    if base is None:
        base = verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb
    return f"Does it {base} {phrase}?".replace("  ", " ")


# ---------------------------------------------------------------------------------------------
# The system: one world, written for both tools


VALUE_CHOICES = {
    "protocol": ["HTTP", "HTTPS", "HTTPS", "HTTPS", "SOAP", "IMAP", "SMTP", "gRPC", ""],
    "environment": ["Production", "Production", "Staging", "Development", ""],
    "usesEncryptionAlgorithm": ["AES", "AES", "RSA", "DES", "", ""],
    "codeType": ["Managed", "Unmanaged", "Unmanaged"],
    "minTLSVersion": [0, 0, 4, 5, 6, 6, 7],
    "tlsVersion": [0, 3, 4, 5, 6, 6, 7, 7],
    "maxClassification": [0, 1, 2, 3, 4, 5],
}
# Percent of elements where a bool attribute is true (default: 50).
TRUE_PERCENT = {
    "hasPhysicalAccess": 30,
    "isShared": 30,
    "usesCache": 30,
    "usesEnvironmentVariables": 40,
    "allowsClientSideScripting": 30,
    "inScope": 85,
}
# Attributes pytm copies onto the flows that reach (or, for responses, leave) a component.
FLOW_COPIED = [
    "protocol",
    "controls.isEncrypted",
    "controls.isEncryptedAtRest",
    "controls.authenticatesDestination",
    "controls.checksDestinationRevocation",
]
DATA_FORMATS = ["JSON", "JSON", "XML", "CSV", "binary", ""]


def random_value(rng: SplitMix64, path: str, kind: str):
    attribute = path.split(".")[-1]
    if attribute in VALUE_CHOICES:
        return rng.choice(VALUE_CHOICES[attribute])
    if kind == "bool":
        return rng.chance(TRUE_PERCENT.get(attribute, 50))
    raise SystemExit(f"error: no values for {path}")


def set_path(element: dict, path: str, value) -> None:
    if path.startswith("controls."):
        element["controls"][path.split(".", 1)[1]] = value
    else:
        element["attrs"][path] = value


def get_path(element: dict, path: str):
    """The value pytm would see: the element's own value, or pytm's default."""
    table = element["controls"] if path.startswith("controls.") else element["attrs"]
    key = path.split(".", 1)[1] if path.startswith("controls.") else path
    if key in table:
        return table[key]
    return attribute_spec(element["class"], path)[1]


def random_datum(rng: SplitMix64, name: str, simple: bool) -> dict:
    datum = {
        "name": name,
        "format": rng.choice(DATA_FORMATS),
        "classification": rng.below(6),
        "isPII": rng.chance(20),
        "isCredentials": False,
        "credentialsLife": "NONE",
        "isStored": False,
        "isDestEncryptedAtRest": False,
        "isSourceEncryptedAtRest": False,
    }
    if not simple:
        datum["isCredentials"] = rng.chance(15)
        datum["credentialsLife"] = rng.choice(["NONE"] * 5 + LIFETIMES[1:])
        datum["isStored"] = rng.chance(40)
        datum["isDestEncryptedAtRest"] = rng.chance(50)
        datum["isSourceEncryptedAtRest"] = rng.chance(50)
    return datum


class World:
    """The generated system, as pytm sees it before `_apply_defaults`: elements with their pytm
    attribute values (only those that differ from the default are stored)."""

    def __init__(self, pack: Pack, components: int, flows: int, boundaries: int, seed: int) -> None:
        rng = SplitMix64(seed)
        self.boundaries = [f"boundary-{index:03}" for index in range(1, boundaries + 1)]
        # What to vary on each class: every attribute a condition reads on it (or on its pytm
        # parent), the ones read through a flow's ends, and the ones pytm copies onto flows.
        varied: dict[str, list[tuple[str, str]]] = {}
        # pytm gives no finding at all to an element out of scope, which threatpack has no notion
        # of: inScope only varies on actors, and only when no threat targets them (none of pytm's
        # own do; a --threats-file may).
        actors_targeted = any("Actor" in threat["target"] for threat, _ in pack.replicated)
        for pytm_class in CLASSES:
            paths = {path for path, _, _, _ in pack.entity_properties(CLASSES[pytm_class][1]).values() if path not in DERIVED}
            if pytm_class in COMPONENT_CLASSES:
                paths.update(FLOW_COPIED)
                if pytm_class != "Actor" or actors_targeted:
                    paths.discard("inScope")
            varied[pytm_class] = sorted((path, attribute_spec(pytm_class, path)[0]) for path in paths)
        if not actors_targeted and "inScope" not in dict(varied["Actor"]):
            varied["Actor"].append(("inScope", "bool"))

        mix = [name for name, percent in COMPONENT_MIX for _ in range(percent)]
        self.components = []
        for index in range(1, components + 1):
            pytm_class = rng.choice(mix)
            element = {
                "id": f"{CLASSES[pytm_class][1]}-{index:05}",
                "class": pytm_class,
                "boundary": rng.choice(self.boundaries) if self.boundaries and rng.chance(80) else None,
                "attrs": {},
                "controls": {},
                "data": [],
            }
            for path, kind in varied[pytm_class]:
                value = random_value(rng, path, kind)
                if value != attribute_spec(pytm_class, path)[1]:
                    set_path(element, path, value)
            # Processes carry data of their own (read by SC01, inherited by their outgoing
            # flows). It is never stored and holds no credentials, so pytm's per-flow rewriting
            # of data (which mutates shared Data objects) leaves it alone.
            if pytm_class in ("Process", "SetOfProcesses") and rng.chance(30):
                element["data"].append(random_datum(rng, f"{element['id']}-data", simple=True))
            self.components.append(element)

        self.flows = []
        forward = []
        for index in range(1, flows + 1):
            response_to = None
            if forward and rng.chance(10):
                response_to = forward[rng.below(len(forward))]
                source, sink = response_to["sink"], response_to["source"]
            else:
                source = rng.below(components)
                sink = (source + 1 + rng.below(components - 1)) % components
                source, sink = self.components[source]["id"], self.components[sink]["id"]
            flow = {"id": f"flow-{index:05}", "class": "Dataflow", "source": source, "sink": sink, "attrs": {}, "controls": {}, "data": []}
            if response_to is not None:
                flow["attrs"]["isResponse"] = True
            for path, kind in varied["Dataflow"]:
                if path in ("protocol", "controls.isEncrypted", "isResponse"):
                    continue  # pytm overwrites them from the flow's ends (isResponse: above)
                if response_to is None and path in ("controls.authenticatesDestination", "controls.checksDestinationRevocation"):
                    continue  # a forward flow takes them from its source
                value = random_value(rng, path, kind)
                if value != attribute_spec("Dataflow", path)[1]:
                    set_path(flow, path, value)
            for number in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
                flow["data"].append(random_datum(rng, f"{flow['id']}-data-{number + 1}", simple=False))
            self.flows.append(flow)
            if response_to is None:
                forward.append(flow)

    # -- pytm ---------------------------------------------------------------------------------

    def pytm_model(self) -> dict:
        def element(item: dict) -> dict:
            result = {key: item[key] for key in ("id", "class")}
            for key in ("source", "sink", "boundary"):
                if item.get(key):
                    result[key] = item[key]
            for key in ("attrs", "controls", "data"):
                if item[key]:
                    result[key] = item[key]
            return result

        return {
            "boundaries": self.boundaries,
            "components": [element(item) for item in self.components],
            "flows": [element(item) for item in self.flows],
        }

    # -- threatpack ---------------------------------------------------------------------------

    def effective(self, pack: Pack):
        """What pytm evaluates, after `_apply_defaults`: per element id, property name -> value,
        for every declared property of the element's entity."""
        by_id = {item["id"]: item for item in self.components}
        values: dict[str, dict] = {}
        weakest: dict[str, int] = {}
        for flow in self.flows:
            source, sink = by_id[flow["source"]], by_id[flow["sink"]]
            response = flow["attrs"].get("isResponse", False)
            # pytm: _inherit_source_data (every flow), then the response or forward defaults.
            data = [dict(datum) for datum in flow["data"]] + [dict(datum) for datum in source["data"]]
            resolved = {}
            if response:
                resolved["protocol"] = get_path(source, "protocol")
                resolved["controls.isEncrypted"] = get_path(source, "controls.isEncrypted")
            else:
                resolved["protocol"] = get_path(sink, "protocol")
                resolved["controls.isEncrypted"] = get_path(sink, "controls.isEncrypted")
                resolved["controls.authenticatesDestination"] = get_path(source, "controls.authenticatesDestination")
                resolved["controls.checksDestinationRevocation"] = get_path(source, "controls.checksDestinationRevocation")
                for datum in data:  # _enrich_data_attributes
                    if datum["isStored"]:
                        datum["isDestEncryptedAtRest"] = get_path(sink, "controls.isEncryptedAtRest")
                        datum["isSourceEncryptedAtRest"] = get_path(source, "controls.isEncryptedAtRest")
                    if datum["credentialsLife"] != "NONE" and not datum["isCredentials"]:
                        datum["isCredentials"] = True
                    if datum["isCredentials"] and datum["credentialsLife"] == "NONE":
                        datum["credentialsLife"] = "UNKNOWN"
                weakest[sink["id"]] = min(weakest.get(sink["id"], 7), get_path(flow, "tlsVersion"))
            resolved["data_traits"] = traits_of(pack, data)
            resolved["data_max_classification"] = max((datum["classification"] for datum in data), default=0)
            values[flow["id"]] = self.properties(pack, flow, resolved)
        for component in self.components:
            resolved = {
                "data_traits": traits_of(pack, component["data"]),
                "weakest_input_tls_version": weakest.get(component["id"], 7),
            }
            values[component["id"]] = self.properties(pack, component, resolved)
        return values

    @staticmethod
    def properties(pack: Pack, element: dict, resolved: dict) -> dict:
        result = {}
        for name, (path, kind, default, _) in pack.entity_properties(CLASSES[element["class"]][1]).items():
            result[name] = resolved[path] if path in resolved else get_path(element, path)
        return result

    def threatpack_model(self, pack: Pack, effective: dict) -> dict:
        """The model in threatpack's format (schema/model.schema.json), as data. Properties
        equal to the entity's default are left out, as a modeler would."""

        def changed(element: dict) -> dict:
            declared = pack.entity_properties(CLASSES[element["class"]][1])
            return {name: value for name, value in sorted(effective[element["id"]].items()) if value != declared[name][2]}

        def with_properties(item: dict, element: dict) -> dict:
            if properties := changed(element):
                item["properties"] = properties
            return item

        members: dict[str, list[str]] = {boundary: [] for boundary in self.boundaries}
        for component in self.components:
            if component["boundary"]:
                members[component["boundary"]].append(component["id"])
        return {
            "model": {
                "name": "pytm-equivalent",
                "description": f"{len(self.components)} components, {len(self.flows)} flows, {len(self.boundaries)} boundaries",
            },
            "component": [with_properties({"id": item["id"], "kind": CLASSES[item["class"]][1]}, item) for item in self.components],
            "flow": [
                with_properties({"id": item["id"], "kind": "dataflow", "source": item["source"], "target": item["sink"]}, item)
                for item in self.flows
            ],
            "boundary": [{"id": boundary, "kind": "boundary", "contains": contains} for boundary, contains in members.items()],
        }


def model_toml(model: dict) -> str:
    lines = ["# Generated by bench/pytm_equivalent.py; the same system as model.json and pytm/model.json.", "[model]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in model["model"].items()]
    for table in ("component", "flow", "boundary"):
        for item in model[table]:
            lines += ["", f"[[{table}]]"] + [f"{key} = {toml_value(value)}" for key, value in item.items()]
    return "\n".join(lines) + "\n"


def traits_of(pack: Pack, data: list[dict]) -> list[str]:
    names = {"Lifetime": type("Lifetime", (), {name: name for name in LIFETIMES})}
    found = set()
    for datum in data:
        holder = type("Datum", (), datum)
        for trait, predicate in pack.traits.items():
            if eval(predicate, dict(names), {"d": holder}):  # noqa: S307 - our own translation's text
                found.add(trait)
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Reference evaluation of the translated pack (Python, from the written files)


def cel_to_python(condition: str) -> str:
    """The CEL subset the translator emits, as Python: `!`, `&&`, `||`, comparisons, `in`,
    parentheses, property reads and string/int literals (which hold none of `!&|`)."""
    text = re.sub(r"!(?!=)", " not ", condition)
    return "(" + text.replace("&&", " and ").replace("||", " or ") + ")"


class Properties:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def evaluate(pack_dir: Path, model_path: Path) -> list[tuple[str, str]]:
    """The findings of the pack on the model, evaluated here: for each element and each attack
    pattern whose `applies-to` names the element's entity or an ancestor, the condition."""
    entities, patterns = {}, []
    for path in sorted((pack_dir / "entities").glob("*.toml")):
        for entity in tomllib.loads(path.read_text(encoding="utf-8")).get("entity", []):
            entities[entity["id"]] = entity
    for path in sorted((pack_dir / "attack-patterns").glob("*.toml")):
        for pattern in tomllib.loads(path.read_text(encoding="utf-8")).get("attack-pattern", []):
            patterns.append((pattern["id"], set(pattern["applies-to"]), compile(cel_to_python(pattern["condition"]), pattern["id"], "eval")))

    def lineage(entity: str) -> list[str]:
        chain = [entity]
        while "parent" in entities[chain[-1]]:
            chain.append(entities[chain[-1]]["parent"])
        return chain

    def values(element: dict) -> Properties:
        result = {}
        for entity in reversed(lineage(element["kind"])):
            for name, definition in entities[entity].get("properties", {}).items():
                result[name] = definition["default"]
        result.update(element.get("properties", {}))
        return Properties(result)

    model = tomllib.loads(model_path.read_text(encoding="utf-8"))
    components = {component["id"]: values(component) for component in model.get("component", [])}
    findings = []
    for element in model.get("component", []) + model.get("flow", []) + model.get("boundary", []):
        kinds = set(lineage(element["kind"]))
        scope = {"self": components.get(element["id"]) or values(element)}
        if "source" in element:
            scope["source"], scope["target"] = components[element["source"]], components[element["target"]]
        for pattern_id, applies_to, code in patterns:
            if applies_to & kinds and eval(code, {"__builtins__": {}}, scope):  # noqa: S307
                findings.append((pattern_id, element["id"]))
    return findings


# ---------------------------------------------------------------------------------------------
# The pytm model script

PYTM_SCRIPT = r'''#!/usr/bin/env python3
"""A pytm model, generated by bench/pytm_equivalent.py: the system of model.json (the same as
../model.toml), checked against threats.json (pytm's library, replicated). Run with pytm 1.4.0.

    python3 model.py --json OUT.json       pytm's own CLI (tm.process()): its JSON output
    python3 model.py --summary              tm.check() + tm.resolve(), then the number of
                                            findings per threat (what `threatpack apply
                                            --format summary` prints)
    python3 model.py --findings OUT.tsv     tm.check() + tm.resolve(), then one line per finding:
                                            THREAT-ID<TAB>ELEMENT, for bench/pytm_equivalent.py compare
    add --timings to print the time of each phase on standard error
"""
import json
import os
import sys
import time

started = time.perf_counter()
phases = []


def phase(name):
    global started
    now = time.perf_counter()
    phases.append((name, now - started))
    started = now


from pytm import TM, Actor, Agent, Boundary, Classification, Controls, Data, Dataflow, Datastore  # noqa: E402
from pytm import ExternalEntity, Lambda, Lifetime, LLM, Process, Server, SetOfProcesses, TLSVersion  # noqa: E402

phase("import pytm")
HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = {cls.__name__: cls for cls in (Actor, Agent, Datastore, ExternalEntity, Lambda, LLM, Process, Server, SetOfProcesses)}
ENUMS = {"minTLSVersion": TLSVersion, "tlsVersion": TLSVersion, "maxClassification": Classification}

# Our own flags; everything else goes to pytm's argument parser (tm.process()).
own = {"--summary": False, "--findings": None, "--timings": False}
argv = [sys.argv[0]]
arguments = iter(sys.argv[1:])
for argument in arguments:
    if argument in ("--summary", "--timings"):
        own[argument] = True
    elif argument == "--findings":
        own[argument] = next(arguments)
    else:
        argv.append(argument)
sys.argv = argv


def attributes(item):
    values = {key: ENUMS[key](value) if key in ENUMS else value for key, value in item.get("attrs", {}).items()}
    if item.get("controls"):
        values["controls"] = Controls(**item["controls"])
    if item.get("data"):
        values["data"] = [
            Data(
                datum["name"],
                format=datum["format"],
                classification=Classification(datum["classification"]),
                isPII=datum["isPII"],
                isCredentials=datum["isCredentials"],
                credentialsLife=Lifetime[datum["credentialsLife"]],
                isStored=datum["isStored"],
                isDestEncryptedAtRest=datum["isDestEncryptedAtRest"],
                isSourceEncryptedAtRest=datum["isSourceEncryptedAtRest"],
            )
            for datum in item["data"]
        ]
    return values


with open(os.path.join(HERE, "model.json"), encoding="utf-8") as file:
    model = json.load(file)
tm = TM("pytm-equivalent", "The system of bench/pytm_equivalent.py.", threatsFile=os.path.join(HERE, "threats.json"))
boundaries = {name: Boundary(name) for name in model["boundaries"]}
elements = {}
for item in model["components"]:
    values = attributes(item)
    if "boundary" in item:
        values["inBoundary"] = boundaries[item["boundary"]]
    elements[item["id"]] = CLASSES[item["class"]](item["id"], **values)
for item in model["flows"]:
    Dataflow(elements[item["source"]], elements[item["sink"]], item["id"], **attributes(item))
del model
phase("build the model")

if own["--summary"] or own["--findings"]:
    tm.check()
    phase("tm.check()")
    tm.resolve()
    phase("tm.resolve()")
    if own["--findings"]:
        with open(own["--findings"], "w", encoding="utf-8") as file:
            for finding in tm.findings:
                file.write(f"{finding.threat_id}\t{finding.target}\n")
    else:
        counts = {}
        for finding in tm.findings:
            counts[finding.threat_id] = counts.get(finding.threat_id, 0) + 1
        for threat in TM._threats:
            print(f"{threat.id}\t{counts.get(threat.id, 0)}")
        print(f"total\t{len(tm.findings)}")
    phase("output")
else:
    tm.process()
    phase("tm.process()")
if own["--timings"]:
    for name, seconds in phases:
        print(f"{name}: {seconds:.3f} s", file=sys.stderr)
    print(f"findings: {len(tm.findings)}", file=sys.stderr)
'''


# ---------------------------------------------------------------------------------------------
# Commands


def verify_pytm_defaults() -> str:
    """Checks the tables above against the installed pytm, when there is one."""
    try:
        import pytm  # noqa: PLC0415
    except ImportError:
        return "pytm is not installed: its defaults were not checked"
    problems = []
    for pytm_class in list(CLASSES) + ["Asset", "Element"]:
        cls = getattr(pytm, pytm_class)
        table = {"Element": ELEMENT_ATTRIBUTES, "Asset": ASSET_ATTRIBUTES}.get(pytm_class) or CLASS_ATTRIBUTES.get(pytm_class, {})
        for name, (_, default) in table.items():
            field = cls.model_fields.get(name)
            actual = getattr(field.default, "value", field.default) if field else "missing"
            if actual != default:
                problems.append(f"{pytm_class}.{name}: pytm says {actual!r}, the table {default!r}")
    for name, (_, default) in CONTROLS.items():
        field = pytm.Controls.model_fields.get(name)
        if field is None or field.default != default:
            problems.append(f"Controls.{name}")
    if problems:
        raise SystemExit("error: the tables of pytm attributes disagree with pytm:\n  " + "\n  ".join(problems))
    return "pytm attribute defaults checked against the installed pytm"


def command_generate(arguments) -> None:
    out = Path(arguments.out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"error: `{out}` exists and is not empty")
    if arguments.components < 2:
        raise SystemExit("error: --components must be at least 2")
    global PYTM_DATA
    if arguments.pytm_data:
        PYTM_DATA = Path(arguments.pytm_data)
    threats = load_threats(Path(arguments.threats_file) if arguments.threats_file else PYTM_DATA / "threats.json")
    pack = Pack(threats, arguments.threats)
    boundaries = arguments.boundaries if arguments.boundaries is not None else max(1, arguments.components // 100)
    world = World(pack, arguments.components, arguments.flows, boundaries, arguments.seed)
    out.mkdir(parents=True, exist_ok=True)
    pack.write(out / "pack")
    effective = world.effective(pack)
    model = world.threatpack_model(pack, effective)
    (out / "model.toml").write_text(model_toml(model), encoding="utf-8")
    (out / "model.json").write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    (out / "pytm").mkdir()
    pytm_threats = []
    for threat, copy in pack.replicated:
        duplicate = dict(threat)
        duplicate["SID"] = threat_id(threat, copy)
        pytm_threats.append(duplicate)
    (out / "pytm" / "threats.json").write_text(json.dumps(pytm_threats, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "pytm" / "model.json").write_text(json.dumps(world.pytm_model(), separators=(",", ":")) + "\n", encoding="utf-8")
    (out / "pytm" / "model.py").write_text(PYTM_SCRIPT, encoding="utf-8")
    elements = len(world.components) + len(world.flows) + len(world.boundaries)
    # Pairs whose element class matches the threat's targets (pytm: the isinstance check passes;
    # threatpack: the attack pattern applies to the element's entity): the conditions evaluated.
    matching = sum(
        1
        for element in world.components + world.flows
        for threat, _ in pack.replicated
        if any(name in threat["target"] for name in class_chain(element["class"]))
    )
    pairs = elements * len(pack.replicated)
    stats = {"elements": elements, "threats": len(pack.replicated), "pairs": pairs, "matching_pairs": matching}
    (out / "stats.json").write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    print(
        f"{out}: {len(pack.replicated)} threats ({len(threats)} of pytm's, replicated), {len(world.components)} components,"
        f" {len(world.flows)} flows, {len(world.boundaries)} boundaries ({elements} elements)"
    )
    print(f"{stats['pairs']} element x threat pairs, {matching} of them with a matching class (conditions evaluated)")
    print(verify_pytm_defaults())
    if arguments.reference:
        findings = evaluate(out / "pack", out / "model.toml")
        write_findings(out / "reference.tsv", findings)
        print(f"reference evaluation: {len(findings)} findings in reference.tsv")


def write_findings(path: Path, findings) -> None:
    with open(path, "w", encoding="utf-8") as file:
        for threat, element in findings:
            file.write(f"{threat}\t{element}\n")


def read_tsv(path: Path) -> list[tuple[str, str]]:
    findings = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            threat, element = line.rstrip("\n").split("\t")
            findings.append((threat.lower(), element))
    return findings


def read_threatpack_json(path: Path) -> list[tuple[str, str]]:
    """(attack pattern, element) of every threat instance in `threatpack apply --format json`
    output (schema/report.schema.json: `threats[].attack-pattern`, qualified, and `.element`),
    with the attack pattern reduced to its plain id."""
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    return [(threat["attack-pattern"].rsplit("/", 1)[-1], threat["element"]) for threat in report["threats"]]


def command_compare(arguments) -> None:
    out = Path(arguments.out)
    model = tomllib.loads((out / "model.toml").read_text(encoding="utf-8"))
    kind_of = {element["id"]: element["kind"] for table in ("component", "flow", "boundary") for element in model.get(table, [])}
    sources = {"pytm": read_tsv(Path(arguments.pytm))}
    reference = out / "reference.tsv"
    sources["reference"] = read_tsv(reference) if reference.exists() else evaluate(out / "pack", out / "model.toml")
    if arguments.threatpack:
        sources["threatpack"] = read_threatpack_json(Path(arguments.threatpack))
    sets = {}
    for name, findings in sources.items():
        unique = set(findings)
        if len(unique) != len(findings):
            print(f"{name}: {len(findings) - len(unique)} duplicate findings")
        sets[name] = unique
    names = list(sets)
    print("findings: " + ", ".join(f"{name} {len(sets[name])}" for name in names))
    # Counts per threat family and element kind, side by side.
    table: dict[tuple[str, str], list[int]] = {}
    for column, name in enumerate(names):
        for threat, element in sets[name]:
            key = (re.sub(r"-c\d+$", "", threat), kind_of.get(element, "?"))
            table.setdefault(key, [0] * len(names))[column] += 1
    print(f"{'threat (all copies)':<22} {'element kind':<18} " + " ".join(f"{name:>10}" for name in names))
    for (threat, kind), counts in sorted(table.items()):
        mark = "" if len(set(counts)) == 1 else "   <-- differs"
        print(f"{threat:<22} {kind:<18} " + " ".join(f"{count:>10}" for count in counts) + mark)
    different = False
    for name in names[1:]:
        only_pytm, only_other = sets["pytm"] - sets[name], sets[name] - sets["pytm"]
        if only_pytm or only_other:
            different = True
            print(f"pytm vs {name}: {len(only_pytm)} only in pytm, {len(only_other)} only in {name}")
            for finding in sorted(only_pytm)[:20]:
                print(f"  only pytm: {finding[0]}@{finding[1]}")
            for finding in sorted(only_other)[:20]:
                print(f"  only {name}: {finding[0]}@{finding[1]}")
        else:
            print(f"pytm vs {name}: identical ({len(sets[name])} findings)")
    sys.exit(1 if different else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write the pack, the threatpack model and the pytm model")
    generate.add_argument("out")
    generate.add_argument("--components", type=int, default=10_000)
    generate.add_argument("--flows", type=int, default=20_000)
    generate.add_argument("--boundaries", type=int, default=None, help="default: components / 100")
    generate.add_argument("--threats", type=int, default=1_000)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument(
        "--threats-file",
        help="a threat library in pytm's threats.json format to translate instead of pytm's own"
        " (e.g. the output of gen_synth_threats.py: distinct conditions with the atoms of pytm's library)",
    )
    generate.add_argument("--pytm-data", help="the directory of pytm's threats.json and LICENSE-pytm-MIT.txt (default: ../shared/data/pytm, or PYTM_DATA)")
    generate.add_argument("--reference", action="store_true", help="also evaluate the translated pack in Python into reference.tsv")
    compare = commands.add_parser("compare", help="compare the findings of pytm, the reference evaluation and threatpack")
    compare.add_argument("out")
    compare.add_argument("--pytm", required=True, help="the output of `model.py --findings FILE`")
    compare.add_argument("--threatpack", help="the output of `threatpack apply --format json`")
    arguments = parser.parse_args()
    {"generate": command_generate, "compare": command_compare}[arguments.command](arguments)


if __name__ == "__main__":
    main()
