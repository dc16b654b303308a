"""The one settings loader that `serve`, `worker` and `config check` call (so they apply the same rules).

`smsgrid.config` reads the TOML file, the environment and the command line into the settings model; the Event
Grid bodies the file may carry (`[subscriptions.NAME]`, `[namespace_topics.NAME]`) are checked here by their own
subsystems' parsers. This module sits above config, delivery and namespaces, so none of them imports another in
a cycle (tests/unit/test_import_contract.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smsgrid.config import Settings
from smsgrid.config.loader import read_settings
from smsgrid.delivery.destinations.send import destination_config_problem
from smsgrid.delivery.subscription_spec import parse_subscription_spec
from smsgrid.errors import Problem, SubscriptionSpecError
from smsgrid.namespaces.spec import parse_config as parse_namespace_topics


def load_settings(
    config_file: Path | None = None,
    *,
    data_dir: Path | None = None,
    db_url: str | None = None,
    time_scale: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of one command, or one ConfigError listing every problem, Event Grid bodies included."""
    return read_settings(
        config_file, data_dir=data_dir, db_url=db_url, time_scale=time_scale, env=env, check_bodies=body_problems
    )


def body_problems(values: Mapping[str, Any], settings: Settings | None) -> list[Problem]:
    problems = _subscription_problems(values.get("subscriptions"), settings)
    namespace_topics = values.get("namespace_topics")
    if isinstance(namespace_topics, dict):
        parse_namespace_topics(namespace_topics, problems)  # the namespaces subsystem builds them at start
    return problems


def _subscription_problems(raw: object, settings: Settings | None) -> list[Problem]:
    """`[subscriptions.NAME]` bodies checked as `PUT /admin/subscriptions/NAME` checks them, and their
    destinations against `[storage_accounts]` and `[function_apps]` (when those are themselves valid)."""
    if not isinstance(raw, dict):
        return []  # the model has said what is wrong with it
    problems: list[Problem] = []
    for name, body in raw.items():
        base = f"subscriptions.{name}"
        if not isinstance(body, dict):
            continue  # likewise
        try:
            spec = parse_subscription_spec(name, body)
        except SubscriptionSpecError as exc:
            problems.extend(Problem(f"{base}.{p.path}" if p.path else base, p.reason) for p in exc.problems)
            continue
        if settings is not None:
            where = destination_config_problem(spec.destination, settings.storage_accounts, settings.function_apps)
            if where is not None:
                problems.append(Problem(f"{base}.destination", where))
    return problems
