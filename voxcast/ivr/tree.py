"""IVR trees: the JSON a tenant saves, checked by one pure function before anything is stored.

A tree is {"start": "<node id>", "nodes": {"<id>": {"type": ..., ...}}}. The same trees run
outbound (IVR, press-1, survey and reminder campaigns are compiled into trees by
voxcast.campaigns.flows_config) and inbound (a DID's IVR), by ari_app.flows.ivr_runner.

Node types and their parameters (targets name other nodes):
  play       sound (a sound file name) | text (spoken by TTS)        next
  say        text (TTS; {first_name}... placeholders)                next
  menu       prompt: sound | text; options {digit: target}; timeout (s, 5); retries (2);
             no_input / invalid (targets, else hang up); store_as (survey question key)
  get_digits prompt: sound | text; var; max_digits (1-20); timeout (s, 5)   next
  branch     var; cases {value: target}; default (target)
  transfer   target {"kind": extension|number|agents|queue, "value": "101" | "+1..." | [..]
             | <queue id>}; ring (s, 20); failed (target, else hang up; also when the
             queue is gone); a queue takes the caller over (its own fallback applies)
  record     prompt: sound | text (optional); max_seconds (60); beep (true)   next
  set_field  field (a contact field); value ({var} placeholders allowed)   next
  set_result result (word, stored on the campaign contact)   next
  opt_out    (puts the caller's number on the tenant's do-not-call list)   next
  hangup     text (optional goodbye)
A node without `next` hangs up after it. Loops must pass a node that waits for the caller
(menu, get_digits, record), so a tree can never spin on its own.
"""
from __future__ import annotations

import json
import re
import string

from voxcast.errors import ServiceError

CONTACT_FIELDS = ("phone", "first_name", "last_name", "email",
                  *(f"custom{i}" for i in range(1, 9)))
SETTABLE_FIELDS = tuple(f for f in CONTACT_FIELDS if f != "phone")
NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
VAR = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
RESULT = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
DIGITS = set("0123456789*#")
INPUT_TYPES = ("menu", "get_digits", "record")
TRANSFER_KINDS = ("extension", "number", "agents", "queue")
MAX_NODES = 200
MAX_TEXT = 1000
# how the errors of the graph start (voxcast.ivr.tree.locate reads them back)
_NODE_ERROR = re.compile(r"^node '(.*?)': ")
_UNREACHABLE = "unreachable from the start: "
_LOOP = "loop without a node that waits for the caller: "

# type -> (parameters that name other nodes, ...)
TARGET_PARAMS = {
    "play": ("next",), "say": ("next",), "get_digits": ("next",), "record": ("next",),
    "set_field": ("next",), "set_result": ("next",), "opt_out": ("next",),
    "menu": ("no_input", "invalid"), "branch": ("default",), "transfer": ("next", "failed"),
    "hangup": (),
}
NODE_TYPES = tuple(TARGET_PARAMS)


class IvrError(ServiceError, ValueError):
    """`errors` lists every problem found, each fit to show as is."""
    code, status = "invalid-ivr", 422

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def placeholders(text: str) -> list[str]:
    """The {names} a text uses; a malformed brace is reported as the name '{'."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["{"]


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {name} by values[name] (missing ones by ''); braces that are not placeholders
    are left alone, so a caller's data can never break the text."""
    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: str(values.get(m.group(1), "")), text)


def check_text(text, where: str, allowed: set[str], errors: list[str]) -> None:
    if not isinstance(text, str) or not text.strip():
        errors.append(f"{where}: text must be a non-empty string")
        return
    if len(text) > MAX_TEXT:
        errors.append(f"{where}: text is longer than {MAX_TEXT} characters")
    for name in placeholders(text):
        if name == "{" or not name:
            errors.append(f"{where}: unbalanced or empty {{}} in the text")
        elif name not in allowed:
            errors.append(f"{where}: unknown placeholder {{{name}}} "
                          f"(known: {', '.join(sorted(allowed))})")


def _prompt(node: dict, where: str, allowed: set[str], errors: list[str], required: bool) -> None:
    if "sound" in node and "text" in node:
        errors.append(f"{where}: give either 'sound' or 'text', not both")
    elif "sound" in node:
        if not isinstance(node["sound"], str) or not re.match(r"^[A-Za-z0-9_.-]{1,100}$", node["sound"]):
            errors.append(f"{where}: 'sound' must be the name of a sound file")
    elif "text" in node:
        check_text(node["text"], where, allowed, errors)
    elif required:
        errors.append(f"{where}: needs 'sound' or 'text'")


def _int(node: dict, name: str, lo: int, hi: int, where: str, errors: list[str]) -> None:
    if name in node:
        value = node[name]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            errors.append(f"{where}: '{name}' must be a whole number from {lo} to {hi}")


def check_target(target, where: str, errors: list[str]) -> None:
    """A transfer target: {"kind": "extension", "value": "101"}, {"kind": "number",
    "value": "+12025550123"}, {"kind": "agents", "value": ["101", "102"]} or {"kind":
    "queue", "value": 7} (a queue id; the tenant's own, checked against the database)."""
    if not isinstance(target, dict) or target.get("kind") not in TRANSFER_KINDS:
        errors.append(f"{where}: 'target' needs a kind ({', '.join(TRANSFER_KINDS)}) and a value")
        return
    kind, value = target["kind"], target.get("value")
    if kind == "extension" and not (isinstance(value, str) and re.match(r"^[0-9]{2,10}$", value)):
        errors.append(f"{where}: the extension must be 2 to 10 digits")
    elif kind == "number" and not (isinstance(value, str) and re.match(r"^\+?[0-9]{3,20}$", value)):
        errors.append(f"{where}: the number must be digits, optionally starting with +")
    elif kind == "agents" and not (isinstance(value, list) and 1 <= len(value) <= 20 and all(
            isinstance(v, str) and re.match(r"^[0-9]{2,10}$", v) for v in value)):
        errors.append(f"{where}: 'agents' needs a list of 1 to 20 extension numbers")
    elif kind == "queue" and not (isinstance(value, int) and not isinstance(value, bool)
                                  and value >= 1):
        errors.append(f"{where}: 'queue' needs the id of one of your queues")
    if set(target) - {"kind", "value"}:
        errors.append(f"{where}: unknown target fields {sorted(set(target) - {'kind', 'value'})}")


def targets(node: dict) -> list[str]:
    """Every node id this node can go to."""
    out = [node[p] for p in TARGET_PARAMS.get(node.get("type"), ()) if isinstance(node.get(p), str)]
    for key in ("options", "cases"):
        if isinstance(node.get(key), dict):
            out.extend(v for v in node[key].values() if isinstance(v, str))
    return out


def queue_targets(tree: dict) -> list[int]:
    """The queue ids a (validated) tree transfers to."""
    return [node["target"]["value"] for node in (tree.get("nodes") or {}).values()
            if isinstance(node, dict) and node.get("type") == "transfer"
            and isinstance(node.get("target"), dict) and node["target"].get("kind") == "queue"]


def sound_names(tree: dict) -> set[str]:
    """Every sound file a (validated) tree plays by name: `sound` of play, menu, get_digits and
    record nodes. Which of them a tenant may use is checked against the database
    (voxcast.ivr.services.foreign_sounds): all tenants share one sounds folder."""
    return {node["sound"] for node in (tree.get("nodes") or {}).values()
            if isinstance(node, dict) and isinstance(node.get("sound"), str)}


def validate(tree, extra_vars: set[str] = frozenset()) -> dict:
    """The tree when it is valid; otherwise IvrError listing every problem."""
    if isinstance(tree, str):
        try:
            tree = json.loads(tree)
        except ValueError as exc:
            raise IvrError([f"not valid JSON: {exc}"]) from None
    errors: list[str] = []
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), dict):
        raise IvrError(['the tree must be an object {"start": "<node id>", "nodes": {...}}'])
    unknown = set(tree) - {"start", "nodes"}
    if unknown:
        errors.append(f"unknown top-level fields: {', '.join(sorted(unknown))}")
    nodes: dict = tree["nodes"]
    if not nodes:
        raise IvrError(["the tree has no nodes"])
    if len(nodes) > MAX_NODES:
        raise IvrError([f"at most {MAX_NODES} nodes"])
    start = tree.get("start")
    if not isinstance(start, str) or start not in nodes:
        errors.append(f"'start' must name one of the nodes (got {start!r})")
    variables = {n.get("var") for n in nodes.values()
                 if isinstance(n, dict) and n.get("type") == "get_digits" and isinstance(n.get("var"), str)}
    allowed = set(CONTACT_FIELDS) | variables | set(extra_vars)
    for node_id, node in nodes.items():
        where = f"node '{node_id}'"
        if not NODE_ID.match(node_id):
            errors.append(f"{where}: ids are 1 to 40 letters, digits, _ or -")
        if not isinstance(node, dict):
            errors.append(f"{where}: must be an object")
            continue
        kind = node.get("type")
        if kind not in NODE_TYPES:
            errors.append(f"{where}: unknown type {kind!r} (one of {', '.join(NODE_TYPES)})")
            continue
        _check_node(node, kind, where, allowed, errors)
        for param in TARGET_PARAMS[kind]:
            if param in node and (not isinstance(node[param], str) or node[param] not in nodes):
                errors.append(f"{where}: '{param}' points to unknown node {node[param]!r}")
    if errors:
        raise IvrError(errors)
    _check_graph(start, nodes, errors)
    if errors:
        raise IvrError(errors)
    return tree


def _check_node(node: dict, kind: str, where: str, allowed: set[str], errors: list[str]) -> None:
    if kind == "play":
        _prompt(node, where, allowed, errors, required=True)
    elif kind == "say":
        if "text" not in node:
            errors.append(f"{where}: needs 'text'")
        else:
            check_text(node["text"], where, allowed, errors)
    elif kind == "menu":
        _prompt(node, where, allowed, errors, required=True)
        options = node.get("options")
        if not isinstance(options, dict) or not options:
            errors.append(f"{where}: 'options' must map at least one key to a node")
        else:
            for digit in options:
                if digit not in DIGITS:
                    errors.append(f"{where}: option {digit!r} is not a phone key (0-9, *, #)")
        _int(node, "timeout", 1, 60, where, errors)
        _int(node, "retries", 0, 10, where, errors)
        if "store_as" in node and not (isinstance(node["store_as"], str) and VAR.match(node["store_as"])):
            errors.append(f"{where}: 'store_as' must be a short lower-case key")
    elif kind == "get_digits":
        _prompt(node, where, allowed, errors, required=True)
        if not isinstance(node.get("var"), str) or not VAR.match(node["var"]):
            errors.append(f"{where}: 'var' must be a short lower-case name")
        elif node["var"] in CONTACT_FIELDS:
            errors.append(f"{where}: 'var' may not be a contact field name")
        _int(node, "max_digits", 1, 20, where, errors)
        _int(node, "timeout", 1, 60, where, errors)
    elif kind == "branch":
        if node.get("var") not in allowed:
            errors.append(f"{where}: 'var' must be a get_digits variable or a contact field")
        if not isinstance(node.get("cases"), dict) or not node["cases"]:
            errors.append(f"{where}: 'cases' must map at least one value to a node")
        if "default" not in node:
            errors.append(f"{where}: needs 'default' (where to go when no case matches)")
    elif kind == "transfer":
        check_target(node.get("target"), where, errors)
        _int(node, "ring", 5, 120, where, errors)
    elif kind == "record":
        _prompt(node, where, allowed, errors, required=False)
        _int(node, "max_seconds", 1, 600, where, errors)
        if "beep" in node and not isinstance(node["beep"], bool):
            errors.append(f"{where}: 'beep' must be true or false")
    elif kind == "set_field":
        if node.get("field") not in SETTABLE_FIELDS:
            errors.append(f"{where}: 'field' must be one of {', '.join(SETTABLE_FIELDS)}")
        value = node.get("value")
        if not isinstance(value, str) or len(value) > 255:
            errors.append(f"{where}: 'value' must be text of at most 255 characters")
        else:
            for name in placeholders(value):
                if name not in allowed:
                    errors.append(f"{where}: unknown placeholder {{{name}}} in 'value'")
    elif kind == "set_result":
        if not isinstance(node.get("result"), str) or not RESULT.match(node["result"]):
            errors.append(f"{where}: 'result' must be a short lower-case word")
    elif kind == "hangup":
        if "text" in node:
            check_text(node["text"], where, allowed, errors)
    for key in ("options", "cases"):
        if isinstance(node.get(key), dict):
            for value, target in node[key].items():
                if not isinstance(target, str):
                    errors.append(f"{where}: {key} {value!r} must name a node")


def _check_graph(start: str, nodes: dict, errors: list[str]) -> None:
    for node_id, node in nodes.items():
        for key in ("options", "cases"):
            for value, target in (node.get(key) or {}).items():
                if target not in nodes:
                    errors.append(f"node '{node_id}': {key} {value!r} points to unknown node {target!r}")
    if errors:
        return
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(targets(nodes[current]))
    unreachable = sorted(set(nodes) - seen)
    if unreachable:
        errors.append(_UNREACHABLE + ", ".join(unreachable))
    # A cycle made only of nodes that never wait for the caller would spin forever.
    passive = {n for n, node in nodes.items() if node["type"] not in INPUT_TYPES}
    state: dict[str, int] = {}
    reported: set[frozenset] = set()

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        path.append(n)
        for t in targets(nodes[n]):
            if t not in passive:
                continue
            if state.get(t) == 1:
                cycle = path[path.index(t):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    errors.append(_LOOP + " -> ".join(cycle + [t]))
            elif t not in state:
                visit(t, path)
        path.pop()
        state[n] = 2

    for n in sorted(passive):
        if n not in state:
            visit(n, [])


def locate(errors: list[str], tree) -> tuple[list[str], dict[str, list[str]]]:
    """The errors of validate() sorted by the node they concern, for an editor that shows each
    on its node: (errors of the whole tree, {node id: [errors, without the "node 'x': " they
    start with]}). An unreachable node and each node of a loop get the error too."""
    nodes = tree.get("nodes") if isinstance(tree, dict) else None
    nodes = nodes if isinstance(nodes, dict) else {}
    general: list[str] = []
    by_node: dict[str, list[str]] = {}
    for error in errors:
        named: list[str] = []
        text = error
        match = _NODE_ERROR.match(error)
        if match and match.group(1) in nodes:
            named, text = [match.group(1)], error[match.end():]
        elif error.startswith(_UNREACHABLE):
            named, text = error[len(_UNREACHABLE):].split(", "), _UNREACHABLE.rstrip(": ")
        elif error.startswith(_LOOP):
            named = list(dict.fromkeys(error[len(_LOOP):].split(" -> ")))
        named = [n for n in named if n in nodes]
        if not named:
            general.append(error)
        for node_id in named:
            by_node.setdefault(node_id, []).append(text)
    return general, by_node


def dumps(tree: dict) -> str:
    return json.dumps(tree, indent=2, sort_keys=False)


def describe(tree: dict) -> list[dict]:
    """A readable list of the nodes for the UI: id, type, a summary and where it goes."""
    out = []
    for node_id, node in tree.get("nodes", {}).items():
        kind = node.get("type", "")
        summary = node.get("text") or node.get("sound") or ""
        if kind == "transfer":
            t = node.get("target") or {}
            value = t.get("value")
            summary = f"{t.get('kind')}: {', '.join(value) if isinstance(value, list) else value}"
        elif kind == "set_field":
            summary = f"{node.get('field')} = {node.get('value')}"
        elif kind == "set_result":
            summary = node.get("result", "")
        elif kind in ("get_digits", "branch"):
            summary = f"{node.get('var')}" + (f" — {node.get('text', '')}" if node.get("text") else "")
        goes = []
        for key in ("options", "cases"):
            goes += [f"{k} → {v}" for k, v in (node.get(key) or {}).items()]
        for param in TARGET_PARAMS.get(kind, ()):
            if node.get(param):
                goes.append(f"{param} → {node[param]}")
        out.append({"id": node_id, "type": kind, "summary": summary, "goes": goes,
                    "start": node_id == tree.get("start")})
    return out
