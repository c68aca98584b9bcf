"""Differential tests: each query runs on Lamna and (transpiled by sqlglot) on DuckDB over
the same Arrow tables; results compare order-insensitively unless the query orders,
decimals exactly, floats with a tolerance. Tables (conftest): t (200 rows, NULLs in every
column), u (60 rows), s3 (5 rows, duplicate keys), e (empty), nn (a NULL key)."""

from __future__ import annotations

import random

import pytest

from lamna_diff import check

HAND = [
    # projection, filters, expressions
    "SELECT id, k, g FROM t",
    "SELECT * FROM t WHERE x > 10",
    "SELECT id, x + 1, x - 2, x * 3 FROM t",
    "SELECT id, x / 4 FROM t",
    "SELECT id, x DIV 4 FROM t WHERE x >= 0",
    "SELECT id, x % 7 FROM t WHERE x >= 0",
    "SELECT id, -x, abs(x) FROM t",
    "SELECT id, y * 2.5, y + x FROM t",
    "SELECT id, d + d, d - 1, d * 2, d * d FROM t",
    "SELECT id, d * 1.5 FROM t",
    "SELECT id, d + x FROM t",
    "SELECT id FROM t WHERE d > 100.5",
    "SELECT id FROM t WHERE d BETWEEN -10 AND 10",
    "SELECT id FROM t WHERE x BETWEEN 0 AND 20 AND k IN (1, 2)",
    "SELECT id FROM t WHERE x NOT BETWEEN -5 AND 5",
    "SELECT id FROM t WHERE k IN (1, 3)",
    "SELECT id FROM t WHERE k NOT IN (1, 3)",
    "SELECT id FROM t WHERE g IN ('a', 'b')",
    "SELECT id FROM t WHERE x IS NULL",
    "SELECT id FROM t WHERE x IS NOT NULL AND y IS NULL",
    "SELECT id FROM t WHERE NOT (x > 0)",
    "SELECT id FROM t WHERE x > 0 OR y > 0",
    "SELECT id FROM t WHERE (x > 0 AND y > 0) OR (x < 0 AND y < 0)",
    "SELECT id FROM t WHERE b",
    "SELECT id FROM t WHERE NOT b",
    "SELECT id, b AND x > 0, b OR x > 0 FROM t",
    "SELECT id FROM t WHERE s LIKE 'a%'",
    "SELECT id FROM t WHERE s LIKE '%e%'",
    "SELECT id FROM t WHERE s NOT LIKE '%an%'",
    "SELECT id FROM t WHERE s LIKE '_ig%'",
    "SELECT id FROM t WHERE s LIKE '%!_%' ESCAPE '!'",
    "SELECT id, s LIKE 'a#%%' ESCAPE '#', s NOT LIKE '_i#_%' ESCAPE '#' FROM t",
    "SELECT id, CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' ELSE 'zero' END FROM t",
    "SELECT id, CASE k WHEN 1 THEN 'one' WHEN 2 THEN 'two' END FROM t",
    "SELECT id, CASE WHEN x > 0 THEN d ELSE 0 END FROM t",
    "SELECT id, coalesce(x, k, 0) FROM t",
    "SELECT id, coalesce(g, 'none') FROM t",
    "SELECT id, nullif(k, 2) FROM t",
    "SELECT id, CAST(x AS DOUBLE), CAST(x AS DECIMAL(10, 2)), CAST(k AS BIGINT) FROM t",
    "SELECT id, CAST(x AS STRING) FROM t",
    "SELECT id, CAST(d AS DECIMAL(20, 4)) FROM t",
    "SELECT id, CAST(y AS DECIMAL(10, 1)) FROM t",
    "SELECT CAST('12' AS INT), CAST('2021-03-04' AS DATE), CAST(' 7 ' AS BIGINT)",
    "SELECT upper(s), lower(s), length(s) FROM t",
    "SELECT substr(s, 2, 3), substr(s, 2), substring(s, 1, 1) FROM t",
    "SELECT concat(s, '-', g) FROM t",
    "SELECT trim(concat('  ', s, ' ')), ltrim(concat(' ', s)), rtrim(concat(s, ' ')) FROM t",
    "SELECT reverse(s), replace(s, 'a', 'A') FROM t",
    "SELECT round(y, 1), round(d, 1), round(y), floor(y), ceil(y) FROM t",
    "SELECT sqrt(abs(y)), ln(abs(y) + 1), exp(y / 10) FROM t",
    "SELECT pow(x, 2) FROM t",
    "SELECT id, greatest(x, k), least(x, k) FROM t",
    "SELECT id, dt, year(dt), month(dt), day(dt) FROM t",
    "SELECT id, extract(year FROM dt), extract(month FROM dt), extract(day FROM dt) FROM t",
    "SELECT id FROM t WHERE dt >= DATE '2021-01-01' AND dt < DATE '2021-01-01' + INTERVAL '3' MONTH",
    "SELECT id, date_add(dt, 10), date_sub(dt, 10) FROM t",
    "SELECT id, datediff(dt, DATE '2020-06-01') FROM t",
    "SELECT DATE '1998-12-01' - INTERVAL '90' DAY",
    "SELECT DATE '2020-01-31' + INTERVAL '1' MONTH, DATE '2020-02-29' + INTERVAL '1' YEAR",
    "SELECT 1 + 2 * 3, 7 / 2, 7 DIV 2, 7 % 3, -7 % 3",
    "SELECT 0.1 + 0.2, 1.5 * 2, 10 / 4",
    "SELECT NULL IS NULL, 1 = NULL, NULL AND FALSE, NULL OR TRUE",
    # aggregates
    "SELECT count(*) FROM t",
    "SELECT count(*), count(x), count(g), sum(x), min(x), max(x), avg(x) FROM t",
    "SELECT sum(d), avg(d), min(d), max(d) FROM t",
    "SELECT sum(y), avg(y), min(y), max(y) FROM t",
    "SELECT min(s), max(s), min(dt), max(dt) FROM t",
    "SELECT k, count(*) FROM t GROUP BY k",
    "SELECT k, g, count(*), sum(x) FROM t GROUP BY k, g",
    "SELECT g, sum(d), avg(d) FROM t GROUP BY g",
    "SELECT k, count(DISTINCT g) FROM t GROUP BY k",
    "SELECT count(DISTINCT k), count(DISTINCT g) FROM t",
    "SELECT k, sum(DISTINCT x) FROM t GROUP BY k",
    ("SELECT k, count(DISTINCT g, x) FROM t GROUP BY k",
     "SELECT k, count(DISTINCT (g, x)) FILTER (WHERE g IS NOT NULL AND x IS NOT NULL) FROM t GROUP BY k"),
    "SELECT k, count(*) FROM t GROUP BY k HAVING count(*) > 40",
    "SELECT k, sum(x) AS sx FROM t GROUP BY k HAVING sx > 0",
    "SELECT k + 1, count(*) FROM t GROUP BY k + 1",
    "SELECT k, max(x) - min(x) FROM t GROUP BY k",
    "SELECT count(*), sum(v) FROM e",
    "SELECT k, count(*) FROM e GROUP BY k",
    "SELECT stddev_samp(y), var_samp(y), stddev_pop(y), var_pop(y) FROM t",
    ("SELECT k, percentile(x, 0.5), percentile(y, 0.9) FROM t GROUP BY k",
     "SELECT k, quantile_cont(x, 0.5), quantile_cont(y, 0.9) FROM t GROUP BY k"),
    "SELECT k, stddev_samp(x), variance(x) FROM t GROUP BY k",
    "SELECT DISTINCT k FROM t",
    "SELECT DISTINCT k, g FROM t",
    "SELECT count(*) FROM (SELECT DISTINCT g FROM t) z",
    "SELECT g, count(*) c FROM t GROUP BY g ORDER BY c DESC, g",
    "SELECT k, sum(CASE WHEN x > 0 THEN 1 ELSE 0 END) FROM t GROUP BY k",
    "SELECT k, avg(x) FROM t WHERE x IS NOT NULL GROUP BY k",
    # ordering and limits
    "SELECT id, x FROM t ORDER BY x, id",
    "SELECT id, x FROM t ORDER BY x DESC, id",
    "SELECT id, x FROM t ORDER BY x NULLS LAST, id",
    "SELECT id, x FROM t ORDER BY x DESC NULLS FIRST, id",
    "SELECT id, g, x FROM t ORDER BY g, x DESC, id",
    "SELECT id, x FROM t ORDER BY x, id LIMIT 10",
    "SELECT id, x FROM t ORDER BY 2 DESC, 1 LIMIT 5",
    "SELECT id, y FROM t ORDER BY y DESC, id LIMIT 7",
    "SELECT id, d FROM t ORDER BY d, id LIMIT 12",
    "SELECT id, s FROM t ORDER BY s, id LIMIT 20",
    "SELECT id, x + 1 AS z FROM t ORDER BY z, id LIMIT 5",
    "SELECT id FROM t ORDER BY x * -1, id LIMIT 5",
    "SELECT count(*) FROM (SELECT id FROM t LIMIT 15) z",
    # joins
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k",
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND t.g = u.g",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k",
    "SELECT t.id, u.v FROM t RIGHT JOIN u ON t.k = u.k",
    "SELECT t.id, u.v FROM t FULL OUTER JOIN u ON t.k = u.k",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND u.v > 5",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k WHERE u.v IS NULL",
    "SELECT t.id FROM t LEFT SEMI JOIN u ON t.k = u.k",
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND t.x > u.v",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND t.x < u.v",
    "SELECT t.id, u.v FROM t, u WHERE t.k = u.k AND t.x > 0",
    "SELECT count(*) FROM t, u",
    "SELECT count(*) FROM t CROSS JOIN s3",
    "SELECT t.id, s3.name FROM t JOIN s3 ON t.k = s3.k",
    "SELECT t.id, s3.name, u.v FROM t JOIN s3 ON t.k = s3.k JOIN u ON u.k = s3.k",
    "SELECT a.id, b.id FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.id < 20",
    "SELECT t.id FROM t JOIN e ON t.k = e.k",
    "SELECT t.id, e.v FROM t LEFT JOIN e ON t.k = e.k",
    "SELECT u.k, count(*) FROM t JOIN u ON t.k = u.k GROUP BY u.k",
    "SELECT t.g, sum(u.w) FROM t JOIN u ON t.g = u.g GROUP BY t.g",
    "SELECT t.id, u.v FROM t JOIN u USING (k)",
    "SELECT t.id, u.v FROM t JOIN u ON t.x = u.v OR t.k = u.k",
    "SELECT t.id, u.v FROM t JOIN u ON t.k < u.k WHERE t.id < 10",
    # subqueries
    "SELECT id FROM t WHERE k IN (SELECT k FROM u)",
    "SELECT id FROM t WHERE k NOT IN (SELECT k FROM u WHERE k IS NOT NULL)",
    "SELECT id FROM t WHERE k NOT IN (SELECT k FROM nn)",
    "SELECT id FROM t WHERE k NOT IN (SELECT k FROM e)",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k)",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k)",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.v > t.x)",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.v > t.x)",
    "SELECT id FROM t WHERE x > (SELECT avg(x) FROM t)",
    "SELECT id FROM t WHERE x > (SELECT avg(v) FROM u WHERE u.k = t.k)",
    "SELECT id, (SELECT max(v) FROM u) FROM t",
    "SELECT id, (SELECT count(*) FROM u WHERE u.k = t.k) FROM t",
    "SELECT id, (SELECT sum(v) FROM u WHERE u.k = t.k) FROM t",
    "SELECT id, (SELECT avg(v) FROM u WHERE u.k < t.k) FROM t",
    "SELECT id FROM t WHERE x > (SELECT count(*) FROM u WHERE u.v <= t.x)",
    "SELECT id, (SELECT max(w) FROM u WHERE u.k = t.k AND u.v > t.x) FROM t",
    "SELECT * FROM t TABLESAMPLE (5 ROWS) WHERE 1 = 0",
    ("SELECT id, x, y FROM (SELECT 1 id, array(named_struct('p', 1, 'q', 'a'), named_struct('p', 2, 'q', 'b')) arr) z "
     "LATERAL VIEW inline(arr) i AS x, y",
     "SELECT 1, 1, 'a' UNION ALL SELECT 1, 2, 'b'"),
    "SELECT id FROM t WHERE x = (SELECT max(x) FROM t)",
    "SELECT k FROM t GROUP BY k HAVING sum(x) > (SELECT sum(v) FROM u)",
    "SELECT id FROM t WHERE k IN (SELECT k FROM u WHERE u.g = t.g)",
    "SELECT id FROM t WHERE x > 0 AND (k IN (SELECT k FROM u) OR g = 'c')",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k) OR x > 40",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u)",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM e)",
    "SELECT z.k, z.c FROM (SELECT k, count(*) c FROM t GROUP BY k) z WHERE z.c > 30",
    "SELECT * FROM (SELECT k, x FROM t WHERE x > 0) a JOIN (SELECT k, v FROM u) b ON a.k = b.k",
    # set operations
    "SELECT k FROM t UNION ALL SELECT k FROM u",
    "SELECT k FROM t UNION SELECT k FROM u",
    "SELECT k FROM t INTERSECT SELECT k FROM u",
    "SELECT k FROM t EXCEPT SELECT k FROM u",
    "SELECT g, k FROM t UNION ALL SELECT g, k FROM u",
    "SELECT x FROM t UNION ALL SELECT w FROM u",
    "SELECT count(*) FROM (SELECT k FROM t UNION ALL SELECT k FROM u) z",
    "SELECT k, count(*) FROM (SELECT k FROM t UNION ALL SELECT k FROM u) z GROUP BY k",
    # CTEs and views-like
    "WITH a AS (SELECT k, sum(x) sx FROM t GROUP BY k) SELECT * FROM a WHERE sx > 0",
    "WITH a AS (SELECT k, count(*) c FROM t GROUP BY k), b AS (SELECT max(c) m FROM a) SELECT a.k FROM a, b WHERE a.c = b.m",
    "WITH a AS (SELECT id, x FROM t) SELECT x.id, y.id FROM a x JOIN a y ON x.id = y.x",
    # windows
    "SELECT id, row_number() OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, rank() OVER (PARTITION BY k ORDER BY x) FROM t",
    "SELECT id, dense_rank() OVER (PARTITION BY g ORDER BY x DESC) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY k) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, count(*) OVER (PARTITION BY g) FROM t",
    "SELECT id, avg(y) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT id, sum(x) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t",
    "SELECT id, lag(x) OVER (PARTITION BY k ORDER BY id), lead(x, 2) OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, lag(x, 1, 0) OVER (ORDER BY id) FROM t",
    "SELECT id, first_value(x) OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, ntile(4) OVER (ORDER BY id) FROM t",
    "SELECT id, percent_rank() OVER (PARTITION BY k ORDER BY id), cume_dist() OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, max(x) OVER (PARTITION BY k), min(x) OVER (PARTITION BY k) FROM t",
    "SELECT id, min(x) OVER (PARTITION BY k ORDER BY id), max(d) OVER (PARTITION BY g ORDER BY id) FROM t",
    "SELECT id, max(y) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT id, min(dt) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
    "SELECT id, count(x) OVER (PARTITION BY k ORDER BY x, id), sum(d) OVER (PARTITION BY k ORDER BY x, id) FROM t",
    "SELECT id, last_value(x) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
    "SELECT g, k, rank() OVER (PARTITION BY g ORDER BY k DESC) FROM (SELECT DISTINCT g, k FROM t) z",
    "SELECT id, row_number() OVER (ORDER BY x DESC, id), lead(id) OVER (ORDER BY id) FROM t",
    "SELECT k, sum(x), rank() OVER (ORDER BY sum(x)) FROM t GROUP BY k",
    "SELECT * FROM (SELECT id, k, row_number() OVER (PARTITION BY k ORDER BY x DESC, id) rn FROM t) z WHERE rn <= 2",
    # grouping sets
    ("SELECT k, g, count(*) FROM t GROUP BY k, g WITH ROLLUP",
     "SELECT k, g, count(*) FROM t GROUP BY ROLLUP (k, g)"),
    "SELECT k, g, sum(x) FROM t GROUP BY ROLLUP (k, g)",
    "SELECT k, g, sum(x) FROM t GROUP BY CUBE (k, g)",
    ("SELECT k, g, count(*) FROM t GROUP BY k, g GROUPING SETS ((k), (g), ())",
     "SELECT k, g, count(*) FROM t GROUP BY GROUPING SETS ((k), (g), ())"),
    ("SELECT k, g, sum(x), grouping__id FROM t GROUP BY k, g GROUPING SETS ((k, g), (k), ())",
     "SELECT k, g, sum(x), grouping_id(k, g) FROM t GROUP BY GROUPING SETS ((k, g), (k), ())"),
    # misc
    "SELECT 1",
    "SELECT 'a' || 'b', concat('x', 'y', 'z')",
    "SELECT id FROM t WHERE id IN (1, 2, 3) ORDER BY id",
    "SELECT count(*) FROM t WHERE g IS NULL OR k IS NULL",
    "SELECT k, g FROM t WHERE k IS NOT NULL GROUP BY k, g",
    "SELECT sum(x) FROM t WHERE 1 = 0",
    "SELECT id FROM t WHERE 1 = 1 AND x > 45",
    "SELECT * FROM s3 WHERE name LIKE 'two%'",
]


@pytest.mark.parametrize("q", HAND)
def test_hand(lamna, duck, q):
    if isinstance(q, tuple):
        check(lamna, duck, q[0], q[1])
    else:
        check(lamna, duck, q)


def _generated(n: int) -> list[str]:
    """Seeded random SELECTs over t and u: filters, joins, groups and orders combined."""
    rnd = random.Random(42)
    cols_t = ["x", "k", "y", "d", "id"]
    preds = ["t.x > {a}", "t.x < {a}", "t.k = {k}", "t.k <> {k}", "t.y > {f}", "t.d < {f}", "t.g = '{g}'",
             "t.x IS NULL", "t.g IS NOT NULL", "t.s LIKE '%{c}%'", "t.x BETWEEN {a} AND {b}",
             "t.k IN ({k}, {k2})", "(t.x > {a} OR t.y < {f})", "NOT (t.k = {k})"]
    aggs = ["count(*)", "sum(t.x)", "min(t.y)", "max(t.d)", "avg(t.x)", "count(t.g)", "sum(t.d)",
            "count(DISTINCT t.x)"]
    out = []
    for i in range(n):
        def p() -> str:
            return rnd.choice(preds).format(a=rnd.randint(-40, 40), b=rnd.randint(0, 50), k=rnd.randint(1, 4),
                                            k2=rnd.randint(1, 4), f=round(rnd.uniform(-8, 8), 2),
                                            g=rnd.choice("abc"), c=rnd.choice("aei"))
        where = " AND ".join(p() for _ in range(rnd.randint(0, 3)))
        where = f" WHERE {where}" if where else ""
        shape = i % 4
        if shape == 0:
            cols = ", ".join(f"t.{c}" for c in rnd.sample(cols_t, 3))
            out.append(f"SELECT t.id, {cols} FROM t{where}")
        elif shape == 1:
            key = rnd.choice(["t.k", "t.g", "t.b"])
            ag = ", ".join(rnd.sample(aggs, 3))
            out.append(f"SELECT {key}, {ag} FROM t{where} GROUP BY {key}")
        elif shape == 2:
            kind = rnd.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
            on = rnd.choice(["t.k = u.k", "t.g = u.g", "t.k = u.k AND t.g = u.g", "t.x = u.v"])
            out.append(f"SELECT t.id, u.v, u.w FROM t {kind} u ON {on}{where}")
        else:
            key = rnd.choice(["t.k", "t.g"])
            out.append(f"SELECT {key}, count(*) c, sum(t.x) sx FROM t JOIN u ON t.k = u.k{where} "
                       f"GROUP BY {key} ORDER BY c DESC, {key} LIMIT 3")
    return out


@pytest.mark.parametrize("q", _generated(160))
def test_generated(lamna, duck, q):
    check(lamna, duck, q)


@pytest.mark.parametrize("q", HAND)
def test_hand_shuffle_joins(lamna_shuffle, duck, q):
    if isinstance(q, tuple):
        check(lamna_shuffle, duck, q[0], q[1])
    else:
        check(lamna_shuffle, duck, q)
