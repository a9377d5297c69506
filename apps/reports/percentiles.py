"""Medians and 90th percentiles of fact columns for several groupings at once, in one query.

PostgreSQL computes them in the database: ``percentile_cont`` over ``GROUPING SETS``, one set per grouping.
SQLite has no percentile aggregate, so one query returns the group keys and the value columns of the
filtered facts (narrow tuples, no model instances) and one pass in Python fills every grouping's lists.
Both interpolate linearly between the two nearest ranks (percentile_cont's definition), so the figures are
the same on either database.
"""

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from django.db import connection
from django.db.models import CharField, DateField, QuerySet
from django.db.models.functions import Cast

FRACTIONS = {"median": 0.5, "p90": 0.9}

# {grouping name: {group key: {"<column>_median": float | None, "<column>_p90": ...}}}
Percentiles = dict[str, dict[object, dict[str, float | None]]]


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """``fraction`` (0-1) of ``sorted_values`` by linear interpolation between the nearest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def percentiles_grouped(facts: QuerySet, *, groupings: Mapping[str, str | None], columns: Sequence[str]) -> Percentiles:
    """The median and p90 of each of ``columns`` (nulls left out), per value of each grouping's field (None:
    the whole queryset, keyed None). A group whose values are all null is absent. One query."""
    if connection.vendor == "postgresql":
        return _in_database(facts, groupings=groupings, columns=columns)
    return _in_python(facts, groupings=groupings, columns=columns)


def _key_fields(groupings: Mapping[str, str | None]) -> list[str]:
    return list(dict.fromkeys(field for field in groupings.values() if field is not None))


def _in_database(facts: QuerySet, *, groupings: Mapping[str, str | None], columns: Sequence[str]) -> Percentiles:
    quote = connection.ops.quote_name
    keys = _key_fields(groupings)
    inner, params = facts.order_by().values_list(*keys, *columns).query.sql_with_params()
    flags = [f"GROUPING({quote(key)})" for key in keys]
    measures = [
        f"PERCENTILE_CONT({fraction!r}) WITHIN GROUP (ORDER BY {quote(column)})"
        for column in columns
        for fraction in FRACTIONS.values()
    ]
    sets = ", ".join(f"({quote(field) if field else ''})" for field in dict.fromkeys(groupings.values()))
    select = ", ".join([*(quote(key) for key in keys), *flags, *measures])
    sql = f"SELECT {select} FROM ({inner}) AS facts GROUP BY GROUPING SETS ({sets})"  # noqa: S608 - names quoted
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_field: dict[str | None, dict[object, dict[str, float | None]]] = {field: {} for field in groupings.values()}
    names = _measure_names(columns)
    for row in rows:
        key_values, grouped, values = row[: len(keys)], row[len(keys) : 2 * len(keys)], row[2 * len(keys) :]
        present = [key for key, flag in zip(keys, grouped, strict=True) if flag == 0]
        field = present[0] if present else None
        if any(value is not None for value in values):
            key = key_values[keys.index(field)] if field else None
            by_field[field][key] = dict(zip(names, values, strict=True))
    return {name: by_field[field] for name, field in groupings.items()}


def _measure_names(columns: Sequence[str]) -> list[str]:
    return [f"{column}_{name}" for column in columns for name in FRACTIONS]


def _in_python(facts: QuerySet, *, groupings: Mapping[str, str | None], columns: Sequence[str]) -> Percentiles:
    keys = _key_fields(groupings)
    # Straight from the cursor, and dates read as text (sqlite3 converts a column declared "date" row by row
    # in Python): conversions per row would cost more than everything else here.
    as_text = {f"{key}_text": Cast(key, CharField()) for key in keys if _is_date(facts, key)}
    selected = [f"{key}_text" if f"{key}_text" in as_text else key for key in keys]
    query = facts.order_by().annotate(**as_text).values_list(*selected, *columns).query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # Column-wise, each (grouping, value column) pair is one tight loop: several times faster than one loop
    # over the rows that fills every list.
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in (*keys, *columns)]
    value_columns = by_column[len(keys) :]
    collected: dict[str | None, dict[object, list[list[float]]]] = {}
    for field in dict.fromkeys(groupings.values()):
        if field is None:
            collected[None] = {None: [[value for value in values if value is not None] for values in value_columns]}
            continue
        groups: defaultdict[object, list[list[float]]] = defaultdict(lambda: [[] for _ in columns])
        for index, values in enumerate(value_columns):
            lists: defaultdict[object, list[float]] = defaultdict(list)
            for key, value in zip(by_column[keys.index(field)], values, strict=True):
                if value is not None:
                    lists[key].append(value)
            for key, group_values in lists.items():
                groups[key][index] = group_values
        collected[field] = groups
    names = _measure_names(columns)
    by_field = {
        field: {_key(facts, field, key): _measures(lists, names) for key, lists in groups.items() if any(lists)}
        for field, groups in collected.items()
    }
    return {name: by_field[field] for name, field in groupings.items()}


def _measures(lists: list[list[float]], names: list[str]) -> dict[str, float | None]:
    figures = []
    for values in lists:
        values.sort()
        figures += [percentile(values, fraction) for fraction in FRACTIONS.values()]
    return dict(zip(names, figures, strict=True))


def _is_date(facts: QuerySet, field: str) -> bool:
    return isinstance(facts.model._meta.get_field(field), DateField)


def _key(facts: QuerySet, field: str | None, key: object) -> object:
    """A group key as Django reads it: a date column's value was read as text."""
    if field is not None and isinstance(key, str) and _is_date(facts, field):
        return date.fromisoformat(key)
    return key
