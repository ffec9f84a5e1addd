"""Reads the Grafana dashboards in charts/sotto/dashboards and turns each
panel target into a PromQL expression Prometheus can evaluate: Grafana's
template variables are replaced by concrete values.

Used by dashboards_test (static checks) and the end-to-end Prometheus test
(every expression returns data from a real scrape).
"""

import json
import re

REQUIRED_VARIABLES = ("datasource", "tenant", "team", "queue")

# Grafana's built-in interval variables, as Grafana would expand them for a
# short dashboard range on a 1 s scrape.
BUILTINS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def panels(dashboard):
    """Every panel, including those nested in rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []):
            yield inner


def targets(dashboard):
    """(panel title, refId, expr) of every panel target."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel.get("title", ""), target.get("refId", ""), \
                target.get("expr", "")


def substitute(expr, values):
    """Replaces $__builtins and $name / ${name} variables.

    `values` maps a variable name to the text to put in its place (a regex
    for `=~` matchers: a concrete value or ".*")."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)

    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError("no value for template variable $%s in %s" %
                           (name, expr))
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)
