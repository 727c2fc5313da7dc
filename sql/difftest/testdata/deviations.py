# Drafts deviations.txt from a run's differences, classified by reason.
# Usage (from the module root):
#   head -5 sql/difftest/testdata/deviations.txt > /tmp/head   # keep the header
#   printf '' > sql/difftest/testdata/deviations.txt (keep the header lines)
#   go test -count=1 -run TestAgainstMariaDB ./sql/difftest/ 2>&1 |
#     sed -nE 's/^ *difftest_test.go:[0-9]+: ([^ ]+) \(line [0-9]+\) differs from MariaDB: /\1\t/p' > /tmp/devs.tsv
#   python3 sql/difftest/testdata/deviations.py /tmp/devs.tsv   # prints the lines
# A query it cannot classify comes out as "VALUES DIFFER ... | TODO": look at it.
import re,sys
rules = [
 (r"typed DOUBLE, MariaDB DECIMAL", "SUM/AVG (and arithmetic on them) of exact values typed DOUBLE, MySQL gives DECIMAL", "CAST(SUM(x) AS DECIMAL(65,0)), CAST(AVG(x) AS DECIMAL(65,4))"),
 (r"typed BIGINT, MariaDB DECIMAL|typed DOUBLE, MariaDB BIGINT", "window aggregate typed and rounded as the argument (window AVG/SUM BIGINT, NTILE DOUBLE)", "aggregate in a derived table, or CAST(AVG(x) OVER (...) AS DECIMAL(65,4)) after multiplying by 1.0"),
 (r"typed TEXT, MariaDB (VARCHAR|LONGTEXT|CHAR)|typed CHAR, MariaDB VARCHAR", "string functions typed TEXT/CHAR (GMS LONGTEXT), MariaDB VARCHAR; values agree", "read the column as a string (the values are the same)"),
 (r"typed (BIGINT|UNSIGNED BIGINT|TINYINT|UNSIGNED TINYINT|DECIMAL), MariaDB (INT|BIGINT)", "integer result width differs (GMS BIGINT/TINYINT/UNSIGNED, MariaDB INT/BIGINT); values agree", "read the column as an integer (the values are the same)"),
 (r"typed BIGINT, MariaDB DOUBLE", "STD/VARIANCE typed BIGINT and rounded", "STD(x * 1.0E0), VARIANCE(x * 1.0E0) (works/std-of-double)"),
 (r"typed (TEXT|DATETIME), MariaDB (DATETIME|CHAR|DATE)|typed DATETIME, MariaDB DATE", "date function result typed differently (DATE + INTERVAL is DATETIME, TIMESTAMP() TEXT)", "CAST(... AS DATE) / CAST(... AS DATETIME(6))"),
 (r"near 'WITH'", "GMS's parser lacks GROUP BY ... WITH ROLLUP", "UNION ALL of the grouped query and its total row (NULL in the grouped columns)"),
 (r"near 'var_pop'", "GMS's parser takes VAR_POP as a keyword", "VARIANCE(x)"),
 (r"near '(SELECT|ALL)'", "GMS lacks ANY/SOME/ALL subquery comparisons", "x > (SELECT MIN(...)) for > ANY (works/any-as-min), x >= (SELECT MAX(...)) for >= ALL (works/all-as-max), IN for = SOME"),
 (r"Subquery\(select", "a non-correlated scalar subquery in a grouped SELECT is refused by only_full_group_by", "CROSS JOIN (SELECT ... ) t and t's column, or the subquery inside an aggregate"),
 (r"%!d\(MISSING\)", "a window function over an aggregate in a grouped query is refused (1140)", "the grouped query in a derived table, the window function outside it (works/window-over-grouped-derived)"),
 (r"cume_dist|nth_value|makedate|sec_to_time", "function missing in GMS", "CUME_DIST: COUNT(*) OVER (ORDER BY x RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) / COUNT(*) OVER () (works/cume-dist-by-counts); NTH_VALUE: ROW_NUMBER in a derived table; MAKEDATE: DATE_ADD('yyyy-01-01', INTERVAL n-1 DAY); SEC_TO_TIME: CONCAT of DIV/MOD parts"),
 (r"cannot inherit", "a named window beside an inline window is refused", "inline both windows"),
 (r"unable to find field with index", "recursive CTE whose anchor and step read a scalar subquery fails in GMS's execution", "compute the bound in a first CTE and join it"),
 (r"incompatible conversion to SQL type: '\[", "row (tuple) IN subquery refused", "a correlated EXISTS (works/row-in-as-exists)"),
 (r"row 1: \(d-o0000000, 2025-01-20 0", "datetime +/- INTERVAL drops the microseconds", "DATE_ADD(x, INTERVAL n unit) / DATE_SUB"),
 (r"MariaDB \(1\.0\)", "UNION of INT and DECIMAL literals keeps the first type (MariaDB: DECIMAL for all)", "write every branch's literal as a decimal (1.0)"),
]
extra = {
 "agg/sum-divided": ("a DECIMAL SUM divided by an integer prints 30 decimals (MySQL: the dividend's scale + 4)", "ROUND(SUM(x) / n, 4) (works/sum-divided-rounded)"),
 "join/join-derived-table": ("AVG over a derived table's SUM prints 30 decimals (MySQL: the scale + 4)", "CAST(AVG(x) AS DECIMAL(20, 4)) (works/avg-of-derived-rounded)"),
 "cte/two": ("SUM over a CTE's column of exact values prints 30 decimals", "CAST(SUM(x) AS DECIMAL(40, 0))"),
 "dash/top-products": ("a DECIMAL SUM divided by an integer prints 30 decimals (MySQL: the dividend's scale + 4)", "ROUND(SUM(x) / n, 4) (works/sum-divided-rounded)"),
 "sub/scalar-in-grouped-select": ("the subquery's aggregate is the outer one's (AVG(price_cents) in both): GMS mixes them up (1242)", "CROSS JOIN (SELECT AVG(price_cents) AS a FROM products) t, CAST(AVG(p.price_cents) - MAX(t.a) AS DECIMAL(20, 4)) (works/scalar-subquery-cross-join)"),
 "rollup/status": ("WITH ROLLUP runs as the UNION ALL of its levels: values agree, the union's columns typed TEXT/DOUBLE", "CAST(col AS CHAR(n)), CAST(SUM(x) AS DECIMAL(65,0))"),
 "rollup/two-levels": ("WITH ROLLUP runs as the UNION ALL of its levels: values agree, the union's columns typed TEXT", "CAST(col AS CHAR(n))"),
 "rollup/category": ("WITH ROLLUP runs as the UNION ALL of its levels: values agree, the union's columns typed TEXT/DOUBLE", "CAST(col AS CHAR(n)), CAST(SUM(x) AS DECIMAL(65,0))"),
 "rollup/coalesce-label": ("WITH ROLLUP runs as the UNION ALL of its levels: values agree, the union's columns typed TEXT", "CAST(col AS CHAR(n))"),
 "agg/avg-of-sum": ("AVG over a derived table's SUM prints 30 decimals (MariaDB: the scale + 4)", "CAST(AVG(x) AS DECIMAL(20, 4)) (works/avg-of-derived-rounded)"),
 "cte/simple": ("MAX over a CTE's SUM typed DOUBLE: the CTE's column keeps GMS's DOUBLE", "CAST(MAX(x) AS DECIMAL(65,0))"),
 "window/sum-over-partition-order-range-default": ("the default frame (RANGE UNBOUNDED PRECEDING) leaves out the current row's peers: wrong answer with ties", "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW with a unique ORDER BY (works/running-sum-unique-rows)"),
 "date/from-unixtime": ("FROM_UNIXTIME(n, format) typed TEXT and FROM_UNIXTIME(n) printed with .000000", "DATE_FORMAT(FROM_UNIXTIME(n), '%Y-%m-%d %H:%i:%s')"),
 "date/cast-date": ("CAST(datetime AS CHAR) drops trailing zeros of the microseconds", "DATE_FORMAT(x, '%Y-%m-%d %H:%i:%s.%f')"),
 "math/rounding": ("TRUNCATE(decimal, 1) loses the scale (4885 for 4885.0), ROUND(int, -2) typed BIGINT", "ROUND/TRUNCATE then CAST(... AS DECIMAL(p,s))"),
}
out=[]
for line in open(sys.argv[1]):
    name, diff = line.rstrip("\n").split("\t",1)
    reasons=[];works=[]
    for pat,r,w in rules:
        if re.search(pat,diff) and r not in reasons:
            reasons.append(r);works.append(w)
    if name in extra:
        reasons.insert(0, extra[name][0]); works.insert(0, extra[name][1])
    if not reasons:
        reasons=["VALUES DIFFER: "+diff[:200]]; works=["TODO"]
    out.append(f"{name} | {'; '.join(reasons)} | {'; '.join(works)}")
print("\n".join(out))
