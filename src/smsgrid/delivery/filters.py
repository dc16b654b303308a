"""Which events a subscription wants: event types, subject prefix/suffix, advanced filters (event-filtering).

Matching runs for every event × subscription, so each filter is compiled once when it is built: strings are
case-folded, value sets frozen and each operator turned into one small predicate. :func:`matches` then works
on the already-rendered event dict (an Event Grid schema item or a CloudEvents 1.0 one).

Semantics (event-filtering, "Advanced filtering"), and the choices made where the page is silent:

* Filters are AND-ed; the values of one filter are OR-ed. String comparisons ignore case.
* A missing key fails every operator except NumberNotIn, StringNotIn and IsNullOrUndefined. A JSON ``null``
  counts as missing, as IsNullOrUndefined already says.
* A value of the wrong type never matches a positive operator (NumberIn on ``"5"`` is false) and never raises.
  Each Not operator is the exact complement of its positive one on a present value, following the page's
  pseudo code: values of another type are ignored and only a real hit fails the match. So NumberNotIn on
  ``"5"`` is true.
* Arrays are compared element-wise only with ``enableAdvancedFilteringOnArrays``: a positive operator matches
  when any element matches any value; a Not operator fails when any element matches any value. Without the
  flag an array value, like an object value (never filterable), matches no operator except the null checks.
* Keys are dotted paths (``data.a.b``). A segment is looked up exactly, then ignoring case, so ``Data.Tag``
  finds ``data.Tag`` and ``data.MessageId`` also finds ``messageId`` in camelCase data (SPEC §1). A top-level
  key missing from the item is also tried under its name in the other schema (``eventType`` ⇄ ``type``,
  ``topic`` ⇄ ``source``, ``eventTime`` ⇄ ``time``) so a filter keeps working when a subscription switches
  its ``eventDeliverySchema``.
* ``includedEventTypes`` is compared ignoring case, as Azure treats event type names.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

MAX_ADVANCED_FILTERS = 25
MAX_ADVANCED_FILTER_VALUES = 25
MAX_STRING_VALUE_LENGTH = 512
ALL_EVENT_TYPES = "All"


class FilterOperator(StrEnum):
    """The ``operatorType`` of an advanced filter."""

    NUMBER_IN = "NumberIn"
    NUMBER_NOT_IN = "NumberNotIn"
    NUMBER_LESS_THAN = "NumberLessThan"
    NUMBER_GREATER_THAN = "NumberGreaterThan"
    NUMBER_LESS_THAN_OR_EQUALS = "NumberLessThanOrEquals"
    NUMBER_GREATER_THAN_OR_EQUALS = "NumberGreaterThanOrEquals"
    NUMBER_IN_RANGE = "NumberInRange"
    NUMBER_NOT_IN_RANGE = "NumberNotInRange"
    BOOL_EQUALS = "BoolEquals"
    STRING_IN = "StringIn"
    STRING_NOT_IN = "StringNotIn"
    STRING_BEGINS_WITH = "StringBeginsWith"
    STRING_NOT_BEGINS_WITH = "StringNotBeginsWith"
    STRING_ENDS_WITH = "StringEndsWith"
    STRING_NOT_ENDS_WITH = "StringNotEndsWith"
    STRING_CONTAINS = "StringContains"
    STRING_NOT_CONTAINS = "StringNotContains"
    IS_NULL_OR_UNDEFINED = "IsNullOrUndefined"
    IS_NOT_NULL = "IsNotNull"


Op = FilterOperator

# Each Not operator and the positive operator it complements.
NEGATED: dict[FilterOperator, FilterOperator] = {
    Op.NUMBER_NOT_IN: Op.NUMBER_IN,
    Op.NUMBER_NOT_IN_RANGE: Op.NUMBER_IN_RANGE,
    Op.STRING_NOT_IN: Op.STRING_IN,
    Op.STRING_NOT_BEGINS_WITH: Op.STRING_BEGINS_WITH,
    Op.STRING_NOT_ENDS_WITH: Op.STRING_ENDS_WITH,
    Op.STRING_NOT_CONTAINS: Op.STRING_CONTAINS,
}
# Operators taking one ``value`` rather than a ``values`` list (event-filtering examples).
SINGLE_VALUE_OPERATORS = frozenset(
    {
        Op.NUMBER_LESS_THAN,
        Op.NUMBER_GREATER_THAN,
        Op.NUMBER_LESS_THAN_OR_EQUALS,
        Op.NUMBER_GREATER_THAN_OR_EQUALS,
        Op.BOOL_EQUALS,
    }
)
NO_VALUE_OPERATORS = frozenset({Op.IS_NULL_OR_UNDEFINED, Op.IS_NOT_NULL})
RANGE_OPERATORS = frozenset({Op.NUMBER_IN_RANGE, Op.NUMBER_NOT_IN_RANGE})
NUMBER_OPERATORS = frozenset(
    {
        Op.NUMBER_IN,
        Op.NUMBER_NOT_IN,
        Op.NUMBER_LESS_THAN,
        Op.NUMBER_GREATER_THAN,
        Op.NUMBER_LESS_THAN_OR_EQUALS,
        Op.NUMBER_GREATER_THAN_OR_EQUALS,
    }
)
STRING_OPERATORS = frozenset(
    {
        Op.STRING_IN,
        Op.STRING_NOT_IN,
        Op.STRING_BEGINS_WITH,
        Op.STRING_NOT_BEGINS_WITH,
        Op.STRING_ENDS_WITH,
        Op.STRING_NOT_ENDS_WITH,
        Op.STRING_CONTAINS,
        Op.STRING_NOT_CONTAINS,
    }
)
# The operators a missing key satisfies (event-filtering, the note after StringNotIn).
MISSING_KEY_MATCHES = frozenset({Op.NUMBER_NOT_IN, Op.STRING_NOT_IN, Op.IS_NULL_OR_UNDEFINED})

# A top-level key and its counterpart in the other delivery schema (SPEC §1, CloudEvents form).
_SCHEMA_ALIASES = {
    "eventtype": "type",
    "type": "eventType",
    "topic": "source",
    "source": "topic",
    "eventtime": "time",
    "time": "eventTime",
}

Range: TypeAlias = tuple[float, float]
FilterValue: TypeAlias = float | str | bool | Range


def _compile_key(key: str) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """A dotted key as its segments, their case-folded forms, and the other schema's name for it (if any)."""
    segments = tuple(key.split("."))
    alias = _SCHEMA_ALIASES.get(key.casefold()) if len(segments) == 1 else None
    return segments, tuple(s.casefold() for s in segments), alias


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ValueFacts:
    """What the positive operators ask of a field's value (one scalar, or an array's elements), computed once per
    value per event: its distinct case-folded strings, numbers and booleans.

    The tests then cost one set or substring lookup per filter value instead of one check per element: an event
    carrying a 100,000-element array, against 10 subscriptions × 25 filters with enableAdvancedFilteringOnArrays,
    took the event loop tens of seconds element by element.
    """

    __slots__ = ("_joined", "_numbers", "bools", "number_set", "strings")

    def __init__(self, elements: Sequence[Any]) -> None:
        strings: set[str] = set()
        numbers: set[float] = set()
        bools: set[bool] = set()
        for element in elements:
            if isinstance(element, str):
                strings.add(element.casefold())
            elif isinstance(element, bool):
                bools.add(element)
            elif isinstance(element, int | float):
                numbers.add(element)
        self.strings = frozenset(strings)
        self.number_set = frozenset(numbers)
        self.bools = frozenset(bools)
        self._joined: tuple[str, str] | None = None
        self._numbers: list[float] | None = None

    @property
    def joined(self) -> tuple[str, str]:
        """``(separator, text)``: the distinct strings each between two separators, the separator a character none
        of them holds, so one substring search answers Contains/BeginsWith/EndsWith for every string at once."""
        if self._joined is None:
            separator = "\x00"
            if any(separator in text for text in self.strings):
                used: set[str] = set()
                for text in self.strings:
                    used.update(text)
                # Fewer distinct characters than code points always leaves one free.
                separator = next(chr(c) for c in range(1, 0x110000) if chr(c) not in used and not 0xD800 <= c < 0xE000)
            self._joined = (separator, separator + separator.join(self.strings) + separator)
        return self._joined

    @property
    def numbers(self) -> list[float]:
        """The distinct numbers, sorted."""
        if self._numbers is None:
            self._numbers = sorted(self.number_set)
        return self._numbers


_Test: TypeAlias = Callable[[ValueFacts], bool]


def _joined_has(facts: ValueFacts, folded: tuple[str, ...], needle: Callable[[str, str], str]) -> bool:
    if not facts.strings:
        return False
    separator, text = facts.joined
    return any(needle(separator, f) in text for f in folded if separator not in f)


def _in_any_range(numbers: list[float], ranges: tuple[Range, ...]) -> bool:
    for lo, hi in ranges:
        i = bisect_left(numbers, lo)
        if i < len(numbers) and numbers[i] <= hi:
            return True
    return False


def _compile_test(operator: FilterOperator, values: tuple[FilterValue, ...]) -> _Test:
    """The positive test a value must pass (true when any element passes it); for a Not operator, the test of its
    positive counterpart."""
    op = NEGATED.get(operator, operator)
    if op in (Op.IS_NULL_OR_UNDEFINED, Op.IS_NOT_NULL):
        return lambda _facts: False  # never called: these look only at presence
    if op in STRING_OPERATORS:
        folded = tuple(str(v).casefold() for v in values)
        if op is Op.STRING_IN:
            wanted = frozenset(folded)
            return lambda facts: not wanted.isdisjoint(facts.strings)
        # A filter value holding the separator cannot be inside any string (none holds it): it never matches.
        if op is Op.STRING_BEGINS_WITH:
            return lambda facts: _joined_has(facts, folded, lambda sep, f: sep + f)
        if op is Op.STRING_ENDS_WITH:
            return lambda facts: _joined_has(facts, folded, lambda sep, f: f + sep)
        return lambda facts: _joined_has(facts, folded, lambda _sep, f: f)
    if op is Op.BOOL_EQUALS:
        flag = values[0]
        return lambda facts: flag in facts.bools
    if op is Op.NUMBER_IN_RANGE:
        ranges = tuple((float(r[0]), float(r[1])) for r in values if isinstance(r, tuple))
        return lambda facts: bool(facts.number_set) and _in_any_range(facts.numbers, ranges)
    if op is Op.NUMBER_IN:
        numbers = frozenset(values)
        return lambda facts: not numbers.isdisjoint(facts.number_set)
    first = values[0]
    if isinstance(first, bool) or not isinstance(first, int | float):
        return lambda _facts: False  # never: the single-value number operators are parsed with one number
    bound: float = first
    if op is Op.NUMBER_LESS_THAN:
        return lambda facts: bool(facts.number_set) and facts.numbers[0] < bound
    if op is Op.NUMBER_GREATER_THAN:
        return lambda facts: bool(facts.number_set) and facts.numbers[-1] > bound
    if op is Op.NUMBER_LESS_THAN_OR_EQUALS:
        return lambda facts: bool(facts.number_set) and facts.numbers[0] <= bound
    return lambda facts: bool(facts.number_set) and facts.numbers[-1] >= bound


@dataclass(frozen=True, slots=True)
class AdvancedFilter:
    """One advanced filter. ``values`` holds numbers, strings, one bool, or ``(min, max)`` ranges; the
    single-value operators (NumberLessThan …, BoolEquals) hold exactly one, the null checks none."""

    operator: FilterOperator
    key: str
    values: tuple[FilterValue, ...] = ()
    _segments: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _folded_segments: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _alias: str | None = field(init=False, repr=False, compare=False)
    _negated: bool = field(init=False, repr=False, compare=False)
    _test: _Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segments, folded, alias = _compile_key(self.key)
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_folded_segments", folded)
        object.__setattr__(self, "_alias", alias)
        object.__setattr__(self, "_negated", self.operator in NEGATED)
        object.__setattr__(self, "_test", _compile_test(self.operator, self.values))


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """A subscription's ``filter``. The default matches every event."""

    included_event_types: tuple[str, ...] | None = None
    subject_begins_with: str = ""
    subject_ends_with: str = ""
    is_subject_case_sensitive: bool = False
    advanced_filters: tuple[AdvancedFilter, ...] = ()
    enable_advanced_filtering_on_arrays: bool = False
    _event_types: frozenset[str] | None = field(init=False, repr=False, compare=False)
    _begins: str = field(init=False, repr=False, compare=False)
    _ends: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        types = self.included_event_types
        folded_types = None
        # null or ["All"] means every event type (event-filtering, "Event type filtering").
        if types is not None and not any(t.casefold() == ALL_EVENT_TYPES.casefold() for t in types):
            folded_types = frozenset(t.casefold() for t in types)
        sensitive = self.is_subject_case_sensitive
        object.__setattr__(self, "_event_types", folded_types)
        object.__setattr__(
            self, "_begins", self.subject_begins_with if sensitive else self.subject_begins_with.casefold()
        )
        object.__setattr__(self, "_ends", self.subject_ends_with if sensitive else self.subject_ends_with.casefold())


def resolve_field(item: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """``(present, value)`` of a dotted *key* in a rendered event, by the lookup rules above.

    Also what a Dynamic delivery attribute's ``sourceField`` reads.
    """
    return _resolve(item, *_compile_key(key), EventMemo())


class EventMemo:
    """What matching one event computes once and shares across every filter of every subscription.

    - Case-insensitive lookups: each object's keys are case-folded once, on the first lookup that misses its exact
      name; every later lookup in it is one dict access. Scanning every key on each miss made matching cost
      keys × filters × subscriptions: a 1 MB event against 10 subscriptions × 25 filters on a missing field held
      the event loop for seconds.
    - The :class:`ValueFacts` of each value a filter reads.

    With one instance per event (:meth:`SubscriptionRegistry.route`) the work is bounded by the event's size plus
    a few lookups per filter value.
    """

    __slots__ = ("_facts", "_indexes")

    def __init__(self) -> None:
        # id(node) -> (node, …); the node is kept so its id cannot be reused while this memo lives.
        self._indexes: dict[int, tuple[Mapping[Any, Any], dict[str, Any]]] = {}
        self._facts: dict[int, tuple[Any, ValueFacts]] = {}

    def lookup(self, node: Mapping[Any, Any], name: str, folded: str) -> tuple[bool, Any]:
        if name in node:
            return True, node[name]
        entry = self._indexes.get(id(node))
        if entry is None:
            index: dict[str, Any] = {}
            for candidate, value in node.items():
                if isinstance(candidate, str):
                    # The first key in the object's order wins, as a scan would find it.
                    index.setdefault(candidate.casefold(), value)
            entry = self._indexes[id(node)] = (node, index)
        index = entry[1]
        if folded in index:
            return True, index[folded]
        return False, None

    def facts(self, value: Any) -> ValueFacts:
        """The facts of a scalar, or of a list's elements."""
        entry = self._facts.get(id(value))
        if entry is None:
            elements = value if isinstance(value, list | tuple) else (value,)
            entry = self._facts[id(value)] = (value, ValueFacts(elements))
        return entry[1]


def _resolve(
    item: Mapping[str, Any],
    segments: tuple[str, ...],
    folded_segments: tuple[str, ...],
    alias: str | None,
    memo: EventMemo,
) -> tuple[bool, Any]:
    node: Any = item
    for index, (name, folded) in enumerate(zip(segments, folded_segments, strict=True)):
        if not isinstance(node, Mapping):
            return False, None
        found, node = memo.lookup(node, name, folded)
        if not found and index == 0 and alias is not None:
            found, node = memo.lookup(item, alias, alias.casefold())
        if not found:
            return False, None
    return True, node


def _evaluate(af: AdvancedFilter, item: Mapping[str, Any], arrays_enabled: bool, memo: EventMemo) -> bool:
    present, value = _resolve(item, af._segments, af._folded_segments, af._alias, memo)
    present = present and value is not None
    if af.operator is Op.IS_NULL_OR_UNDEFINED:
        return not present
    if af.operator is Op.IS_NOT_NULL:
        return present
    if not present:
        return af.operator in MISSING_KEY_MATCHES
    if isinstance(value, Mapping):
        return False
    if isinstance(value, list | tuple) and not arrays_enabled:
        return False
    # A scalar is tested as itself; an array (with the flag) hits when any element passes.
    hit = af._test(memo.facts(value))
    return hit != af._negated


def _event_type_of(item: Mapping[str, Any]) -> object:
    event_type = item.get("eventType")
    return event_type if event_type is not None else item.get("type")


def matches(subscription_filter: SubscriptionFilter, item: Mapping[str, Any], memo: EventMemo | None = None) -> bool:
    """True when the rendered event *item* passes every part of *subscription_filter*.

    Pass the same *memo* for every subscription an event is matched against (see :class:`EventMemo`).
    """
    f = subscription_filter
    if f._event_types is not None:
        event_type = _event_type_of(item)
        if not isinstance(event_type, str) or event_type.casefold() not in f._event_types:
            return False
    if f._begins or f._ends:
        subject = item.get("subject")
        # A CloudEvent may carry no subject; it then only passes empty subject filters.
        text = subject if isinstance(subject, str) else ""
        if not f.is_subject_case_sensitive:
            text = text.casefold()
        if not (text.startswith(f._begins) and text.endswith(f._ends)):
            return False
    if not f.advanced_filters:
        return True
    arrays = f.enable_advanced_filtering_on_arrays
    shared = EventMemo() if memo is None else memo
    return all(_evaluate(af, item, arrays, shared) for af in f.advanced_filters)


def advanced_filter_to_dict(af: AdvancedFilter) -> dict[str, Any]:
    """One advanced filter in Azure's shape (``operatorType``, ``key``, ``value`` or ``values``)."""
    out: dict[str, Any] = {"operatorType": af.operator.value, "key": af.key}
    if af.operator in SINGLE_VALUE_OPERATORS:
        out["value"] = af.values[0]
    elif af.operator in RANGE_OPERATORS:
        out["values"] = [[r[0], r[1]] for r in af.values if isinstance(r, tuple)]
    elif af.operator not in NO_VALUE_OPERATORS:
        out["values"] = list(af.values)
    return out


def filter_to_dict(subscription_filter: SubscriptionFilter) -> dict[str, Any]:
    """The filter in Azure's ``filter`` shape."""
    f = subscription_filter
    return {
        "includedEventTypes": list(f.included_event_types) if f.included_event_types is not None else None,
        "subjectBeginsWith": f.subject_begins_with,
        "subjectEndsWith": f.subject_ends_with,
        "isSubjectCaseSensitive": f.is_subject_case_sensitive,
        "enableAdvancedFilteringOnArrays": f.enable_advanced_filtering_on_arrays,
        "advancedFilters": [advanced_filter_to_dict(af) for af in f.advanced_filters],
    }
