"""Node parameters: declared from ``config/<node>.yaml``, each with a rule for a live change.

The YAML file is the one source of a parameter's default and description (the comment after
it, continued on the comment lines below it); launch files read both from it too. The rule
says when the node reads the value:

* ``LIVE``: applied as soon as ``ros2 param set`` sets it (the node's ``apply`` callback);
* ``START``: read once when the node starts: declared read-only, so a set is refused;
* ``CONFIGURE``: read by a lifecycle node's configure: settable while it is unconfigured,
  refused with the reason once it is configured or active.

Ranges go into the ParameterDescriptor (rclpy refuses out-of-range values, at start too);
``choices`` are checked here, as ParameterDescriptor has no field for them.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LIVE, START, CONFIGURE = "live", "start", "configure"
_WHEN_TEXT = {
    LIVE: "takes effect when set",
    START: "read-only: read once at start (restart the node with -p {name}:=VALUE)",
    CONFIGURE: "read at configure: set it while the node is unconfigured",
}


@dataclass(frozen=True)
class Rule:
    """When a parameter's value is read, and which values it takes."""

    when: str = START
    low: float | None = None  # inclusive bounds: FloatingPointRange / IntegerRange
    high: float | None = None
    choices: tuple = ()
    dynamic_typing: bool = False  # any type on the command line; the node checks the value


def live(low: float | None = None, high: float | None = None, choices: tuple = ()) -> Rule:
    return Rule(LIVE, low, high, choices)


def start(low: float | None = None, high: float | None = None, choices: tuple = ()) -> Rule:
    return Rule(START, low, high, choices)


def configure(low: float | None = None, high: float | None = None, choices: tuple = ()) -> Rule:
    return Rule(CONFIGURE, low, high, choices)


@dataclass(frozen=True)
class ParameterDoc:
    """A parameter of a node's YAML file: its default and its description."""

    name: str
    default: Any
    description: str


_KEY = re.compile(r"^(?P<indent> +)(?P<name>[A-Za-z_][\w.]*):(?P<rest>.*)$")
_COMMENT = re.compile(r"^(?P<indent> +)#\s?(?P<text>.*)$")


def _split_comment(text: str) -> tuple[str, str]:
    """``value  # comment`` -> (value, comment); a ``#`` inside quotes is part of the value."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            return text[:index].strip(), text[index + 1 :].strip()
    return text.strip(), ""


def parse_parameter_docs(text: str, node_name: str) -> dict[str, ParameterDoc]:
    """The parameters of ``/<node_name>: ros__parameters:`` in a YAML text, in file order,
    with the comments after each one as its description."""
    import yaml

    defaults = dict(yaml.safe_load(text)[f"/{node_name}"]["ros__parameters"])
    descriptions: dict[str, list[str]] = {}
    in_parameters, key_indent, current = False, None, None
    for line in text.splitlines():
        if line.strip() == "ros__parameters:":
            in_parameters = True
            continue
        if not in_parameters or not line.strip():
            continue
        key = _KEY.match(line)
        if key and (key_indent is None or len(key["indent"]) == key_indent):
            key_indent, current = len(key["indent"]), key["name"]
            comment = _split_comment(key["rest"])[1]
            descriptions[current] = [comment] if comment else []
        elif (comment := _COMMENT.match(line)) and current is not None:
            if len(comment["indent"]) > key_indent:  # a continuation of the last comment
                descriptions[current].append(comment["text"].strip())
    return {
        name: ParameterDoc(name, value, " ".join(descriptions.get(name, [])).strip())
        for name, value in defaults.items()
    }


def parameter_docs(node_name: str) -> dict[str, ParameterDoc]:
    """The parameters of ``config/<node_name>.yaml`` (see :func:`parse_parameter_docs`)."""
    from lerobot_ros.resources import config_path

    return parse_parameter_docs(config_path(f"{node_name}.yaml").read_text(), node_name)


def constraint_text(name: str, rule: Rule) -> str:
    """What ``ros2 param describe`` shows as the parameter's constraints."""
    parts = [_WHEN_TEXT[rule.when].format(name=name)]
    if rule.choices:
        parts.append(f"one of {list(rule.choices)}")
    return "; ".join(parts)


def descriptor(doc: ParameterDoc, rule: Rule):  # noqa: ANN201 - rcl_interfaces ParameterDescriptor
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    result = ParameterDescriptor(
        description=doc.description,
        additional_constraints=constraint_text(doc.name, rule),
        read_only=rule.when == START,
        dynamic_typing=rule.dynamic_typing,
    )
    if rule.low is not None or rule.high is not None:
        if isinstance(doc.default, bool) or not isinstance(doc.default, int | float):
            raise TypeError(f"parameter {doc.name}: a range needs a number default")
        if isinstance(doc.default, float):
            low = float("-inf") if rule.low is None else float(rule.low)
            high = float("inf") if rule.high is None else float(rule.high)
            result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
        else:
            low = -(2**63) if rule.low is None else int(rule.low)
            high = 2**63 - 1 if rule.high is None else int(rule.high)
            result.integer_range = [IntegerRange(from_value=low, to_value=high)]
    return result


def refusal(
    name: str,
    value: Any,  # noqa: ANN401 - any parameter value
    rule: Rule | None,
    lifecycle_state: str | None,
) -> str | None:
    """Why setting ``name`` to ``value`` on a running node is refused, or None to accept it
    (rclpy has already checked read-only, type and range)."""
    if rule is None:
        return None
    if rule.choices and value not in rule.choices:
        return f"parameter {name}={value!r} must be one of {list(rule.choices)}"
    if rule.when == CONFIGURE and lifecycle_state not in (None, "unconfigured"):
        return (
            f"{name} is read at configure and the node is {lifecycle_state}: deactivate and "
            "clean it up (ros2 lifecycle set <node> cleanup), set it, then configure again"
        )
    return None


def declare_node_parameters(
    node: Any,  # noqa: ANN401 - an rclpy Node or LifecycleNode
    node_name: str,
    rules: Mapping[str, Rule] | None = None,
    apply: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Declare every parameter of ``config/<node_name>.yaml`` on ``node`` with its rule
    (``START`` when not in ``rules``), and refuse or apply later sets; returns the values.

    ``apply`` receives the accepted ``LIVE`` values ({name: value}) before they are stored;
    a ValueError it raises refuses the set with its message.
    """
    rules = dict(rules or {})
    docs = parameter_docs(node_name)
    unknown = sorted(set(rules) - set(docs))
    if unknown:
        raise KeyError(f"rules for parameters {unknown} not in config/{node_name}.yaml")
    rules = {name: rules.get(name, Rule()) for name in docs}
    values = {}
    for doc in docs.values():
        rule = rules[doc.name]
        value = node.declare_parameter(doc.name, doc.default, descriptor(doc, rule)).value
        # A configure-time value is checked by configure, which fails with the reason.
        if rule.when != CONFIGURE and rule.choices and value not in rule.choices:
            raise ValueError(f"parameter {doc.name}={value!r} must be one of {list(rule.choices)}")
        values[doc.name] = value

    # Weak references: a node whose constructor fails part-way must be garbage, not kept
    # alive by its own callback (rclpy's shutdown would destroy the half-built node).
    node_ref = weakref.ref(node)
    apply_ref = None if apply is None else _weak_callable(apply)

    def on_set(parameters: list) -> Any:  # noqa: ANN401 - SetParametersResult
        from rcl_interfaces.msg import SetParametersResult

        state = _lifecycle_state(node_ref())
        changes = {}
        for parameter in parameters:
            reason = refusal(parameter.name, parameter.value, rules.get(parameter.name), state)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
            if parameter.name in rules and rules[parameter.name].when == LIVE:
                changes[parameter.name] = parameter.value
        if changes and apply_ref is not None and (apply_now := apply_ref()) is not None:
            try:
                apply_now(changes)
            except ValueError as error:
                return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values


def _weak_callable(function: Callable) -> Callable[[], Callable | None]:
    """A weak reference to a bound method (or a strong one to a plain function)."""
    if hasattr(function, "__self__"):
        return weakref.WeakMethod(function)
    return lambda: function


def _lifecycle_state(node: Any) -> str | None:  # noqa: ANN401 - an rclpy node
    """The label of a lifecycle node's state (unconfigured, inactive, ...); None otherwise."""
    machine = getattr(node, "_state_machine", None)  # rclpy offers no public getter
    return None if machine is None else str(machine.current_state[1])
