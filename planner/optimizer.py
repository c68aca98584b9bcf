"""The rule pipeline: batches of rules run in order, with invariants checked after each.

Order matters:
- filters pushed once before decorrelation, so it sees which scans the outer query
  filters (magic-set reduction of correlated aggregates); subquery conjuncts stay put;
- decorrelation early: later rules see only joins, never subquery expressions;
- constant folding before pushdown, so folded date arithmetic reaches scans as literals;
- filter pushdown before join ordering: ordering needs join conditions, which pushdown
  creates from WHERE equalities over comma joins;
- semi joins sink before ordering, so ordering sees the inputs they shrink;
- pushdown again after ordering (it leaves a Filter with conditions it could not place);
- limit pushdown before column pruning; pruning last, over the final shape.
Rules can be disabled by name: ``SET lamna.optimizer.disabled_rules=push_down_limit,…``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from planner import logical as L
from planner.memo import planning
from planner.rules.decorrelate import decorrelate, fresh_id_scope
from planner.rules.fold_constants import fold_constants
from planner.rules.prune_columns import prune_columns
from planner.rules.push_down_filter import push_down_filter
from planner.rules.push_down_limit import push_down_limit
from planner.rules.push_down_semi_join import push_down_semi_join
from planner.rules.reorder_joins import reorder_joins

log = logging.getLogger(__name__)


class PlanInvariantError(AssertionError):
    pass


@dataclass(frozen=True)
class Rule:
    name: str
    fn: Callable[[L.LogicalPlan], L.LogicalPlan]
    traversal: str  # "whole" (rule walks the tree itself) | "up" | "down"


RULES: tuple[Rule, ...] = (
    Rule("push_down_filter", push_down_filter, "whole"),
    Rule("decorrelate", decorrelate, "whole"),
    Rule("fold_constants", fold_constants, "up"),
    Rule("push_down_filter", push_down_filter, "whole"),
    Rule("push_down_semi_join", push_down_semi_join, "whole"),
    Rule("reorder_joins", reorder_joins, "whole"),
    Rule("push_down_filter", push_down_filter, "whole"),
    Rule("fold_constants", fold_constants, "up"),
    Rule("push_down_limit", push_down_limit, "down"),
    Rule("prune_columns", prune_columns, "whole"),
)


def apply_rule(rule: Rule, plan: L.LogicalPlan) -> L.LogicalPlan:
    match rule.traversal:
        case "whole":
            return rule.fn(plan)
        case "up":
            return L.transform_up(plan, rule.fn)
        case "down":
            return L.transform_down(plan, rule.fn)
    raise AssertionError(rule.traversal)


def check_invariants(before: L.LogicalPlan, after: L.LogicalPlan, rule: str) -> None:
    if [(c.id, c.type) for c in before.schema] != [(c.id, c.type) for c in after.schema]:
        raise PlanInvariantError(f"rule {rule} changed the output schema: "
                                 f"{list(map(str, before.schema))} → {list(map(str, after.schema))}")
    if not L.free_column_ids(before):
        _check_refs(after, rule)


def _check_refs(plan: L.LogicalPlan, rule: str) -> None:
    """The plan reads no column that nothing produces (outer references excepted)."""
    free = L.free_column_ids(plan)
    if free:
        raise PlanInvariantError(f"after {rule}: plan reads unknown columns {sorted(free)}")


def optimize(plan: L.LogicalPlan, disabled: frozenset[str] = frozenset(),
             check: bool = True) -> L.LogicalPlan:
    with fresh_id_scope(), planning():
        return _optimize(plan, disabled, check)


def _optimize(plan: L.LogicalPlan, disabled: frozenset[str], check: bool) -> L.LogicalPlan:
    for rule in RULES:
        if rule.name in disabled:
            continue
        new = apply_rule(rule, plan)
        if new is not plan:
            if check:
                check_invariants(plan, new, rule.name)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("after %s:\n%s", rule.name, L.explain(new))
        plan = new
    return plan
