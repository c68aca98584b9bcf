"""Each rule with the plan before and after (EXPLAIN text), plus properties of the result."""

from __future__ import annotations

from planner import logical as L
from planner.optimizer import RULES, check_invariants, optimize
from planner.rules.decorrelate import decorrelate
from planner.rules.fold_constants import fold_constants
from planner.rules.prune_columns import prune_columns
from planner.rules.push_down_filter import push_down_filter
from planner.rules.push_down_limit import push_down_limit
from planner.rules.push_down_semi_join import push_down_semi_join
from planner.rules.reorder_joins import reorder_joins
from plan_helpers import bind, lines, text


def test_fold_constants_date_arithmetic():
    before = bind("SELECT x FROM a WHERE x > 1 + 2 AND s = concat('p', '') AND DATE '1998-12-01' - INTERVAL '90' DAY < DATE '2000-01-01'")
    assert text(before) == lines("""
        Project [x#2]
          Filter (((x#2 > CAST((1 + 2) AS bigint)) AND (s#3 = concat('p', ''))) AND (date_add_interval(DATE '1998-12-01', MonthDayNano(months=0, days=-90, nanoseconds=0)) < DATE '2000-01-01'))
            Scan a [k#1, x#2, s#3]
    """)
    after = L.transform_up(before, fold_constants)
    assert text(after) == lines("""
        Project [x#2]
          Filter ((x#2 > 3) AND (s#3 = 'p'))
            Scan a [k#1, x#2, s#3]
    """)


def test_push_down_filter_turns_comma_join_into_equi_join():
    before = bind("SELECT x, y FROM a, b WHERE a.k = b.k AND a.x > 1 AND b.y < 5")
    assert text(before) == lines("""
        Project [x#2, y#5]
          Filter (((k#1 = k#4) AND (x#2 > 1)) AND (y#5 < 5))
            Join cross
              Scan a [k#1, x#2, s#3]
              Scan b [k#4, y#5]
    """)
    after = push_down_filter(before)
    assert text(after) == lines("""
        Project [x#2, y#5]
          Join inner on (k#1 = k#4)
            Scan a [k#1, x#2, s#3] filters=[(x#2 > 1)]
            Scan b [k#4, y#5] filters=[(y#5 < 5)]
    """)


def test_push_down_filter_keeps_outer_join_semantics():
    after = push_down_filter(bind("SELECT x, y FROM a LEFT JOIN b ON a.k = b.k AND b.y > 0 AND a.x > 0 WHERE y IS NULL"))
    # the right-only ON conjunct goes into b; the left-only one must stay in ON; WHERE stays above
    assert text(after) == lines("""
        Project [x#2, y#5]
          Filter is_null(y#5)
            Join left on ((k#1 = k#4) AND (x#2 > 0))
              Scan a [k#1, x#2, s#3]
              Scan b [k#4, y#5] filters=[(y#5 > 0)]
    """)


def test_push_down_filter_through_aggregate_and_union():
    after = push_down_filter(bind("SELECT k, c FROM (SELECT k, count(*) c FROM a GROUP BY k) t WHERE k = 1 AND c > 1"))
    assert "Filter (_agg0#4 > 1)" in text(after)
    assert "Scan a [k#1, x#2, s#3] filters=[(k#1 = 1)]" in text(after)
    after = push_down_filter(bind("SELECT k FROM (SELECT k FROM a UNION ALL SELECT k FROM b) u WHERE k > 0"))
    assert "Scan a [k#1, x#2, s#3] filters=[(k#1 > 0)]" in text(after)
    assert "Scan b [k#4, y#5] filters=[(k#4 > 0)]" in text(after)


def test_push_down_filter_factors_or():
    after = push_down_filter(bind(
        "SELECT x FROM a, b WHERE (a.k = b.k AND a.x = 1 AND b.y = 2) OR (a.k = b.k AND a.x = 3 AND b.y = 4)"))
    t = text(after)
    assert "Join inner on ((k#1 = k#4) AND " in t  # the shared equality became the join key
    assert "filters=[((x#2 = 1) OR (x#2 = 3))]" in t  # derived per-side filters
    assert "filters=[((y#5 = 2) OR (y#5 = 4))]" in t


def test_decorrelate_exists_in_and_scalar():
    before = bind("SELECT x FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k AND b.y > 1) "
                  "AND a.k NOT IN (SELECT k FROM c) AND a.x > (SELECT avg(y) FROM b WHERE b.k = a.k)")
    after = decorrelate(before)
    t = text(after)
    assert "Subquery" not in t
    assert "Join semi on (k#" in t
    assert "Join anti null-aware on (k#1 = k#" in t
    assert "Join left on (k#" in t
    assert "Aggregate keys=[k#" in t  # the correlated equality became a grouping key
    check_invariants(before, after, "decorrelate")


def test_decorrelate_scalar_count_is_coalesced():
    after = decorrelate(bind("SELECT x, (SELECT count(*) FROM b WHERE b.k = a.k) FROM a"))
    assert "coalesce(_c0#7, 0)" in text(after)


def test_reorder_joins_avoids_cross_products():
    # FROM a, c, b with conditions only a-b and b-c: never join a with c directly
    before = push_down_filter(bind("SELECT * FROM a, c, b WHERE a.k = b.k AND b.k = c.k"))
    after = reorder_joins(before)
    assert "Join cross" not in text(after)
    assert after.schema == before.schema


def test_push_down_semi_join_onto_the_input_it_reads():
    before = push_down_filter(bind("SELECT * FROM a, b WHERE a.k = b.k AND a.x IN (SELECT z FROM c WHERE z > 100)"))
    before = decorrelate(before)
    after = push_down_semi_join(push_down_filter(before))
    t = text(after)
    # the semi join now sits under the inner join, directly on a
    assert t.index("Join inner") < t.index("Join semi")


def test_prune_columns_down_to_scans():
    after = prune_columns(bind("SELECT x FROM a JOIN b ON a.k = b.k"))
    assert text(after) == lines("""
        Project [x#2]
          Join inner on (k#1 = k#4)
            Scan a [k#1, x#2]
            Scan b [k#4]
    """)


def test_push_down_limit_into_union_and_scan():
    before = bind("SELECT k FROM (SELECT k FROM a UNION ALL SELECT k FROM b) u LIMIT 3")
    after = L.transform_down(before, push_down_limit)
    t = text(after)
    assert t.count("Limit 3") == 3 and "limit=3" in t


def test_sort_limit_becomes_top_n():
    from planner.physical.plan import Planner, PlannerConfig, explain
    plan = optimize(bind("SELECT x FROM a ORDER BY x DESC LIMIT 1"))
    assert explain(Planner(PlannerConfig()).plan(plan)).startswith("TopNExec n=1")


def test_optimizer_keeps_schema_and_is_idempotent():
    q = ("SELECT a.k, count(*) FROM a, b WHERE a.k = b.k AND a.x > 0 AND EXISTS (SELECT 1 FROM c WHERE c.k = a.k) "
         "GROUP BY a.k ORDER BY a.k LIMIT 5")
    before = bind(q)
    once = optimize(before)
    assert [c.id for c in once.schema] == [c.id for c in before.schema]
    assert text(optimize(once)) == text(once)


def test_rules_can_be_disabled():
    plan = bind("SELECT x FROM a WHERE x > 1")
    disabled = frozenset(r.name for r in RULES)
    assert text(optimize(plan, disabled)) == text(plan)
