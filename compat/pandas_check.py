"""Python client of the compatibility suite: pandas read_sql over SQLAlchemy
and PyMySQL connects to Imago, introspects the shop, runs joins and
aggregates and checks the answers against compat/shopload's expected.json."""
import json
import sys

import pandas as pd
import sqlalchemy as sa

url, expected_file = sys.argv[1], sys.argv[2]
exp = json.load(open(expected_file))
engine = sa.create_engine(url)

insp = sa.inspect(engine)
tables = sorted(insp.get_table_names())
assert tables == exp["tables"], f"tables: {tables}"
cols = {c["name"]: c for c in insp.get_columns("orders")}
assert not cols["order_id"]["nullable"] and cols["paid_at"]["nullable"], cols
assert insp.get_pk_constraint("order_lines")["constrained_columns"] == ["order_id", "line_no"]
indexes = {i["name"] for i in insp.get_indexes("orders")}
assert {"customer_id", "status", "placed_at"} <= indexes, indexes

with engine.connect() as conn:
    by_country = pd.read_sql(sa.text(
        "SELECT c.country, COUNT(*) AS orders, SUM(o.total_cents) AS revenue FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY c.country"), conn)
    got = [[r.country, int(r.orders), int(r.revenue)] for r in by_country.itertuples()]
    assert got == exp["by_country"], f"by country: {got}"
    by_sku = pd.read_sql(sa.text(
        "SELECT l.sku, SUM(l.quantity) AS q FROM order_lines l JOIN products p ON p.sku = l.sku "
        "GROUP BY l.sku ORDER BY l.sku"), conn)
    got = [[r.sku, int(r.q)] for r in by_sku.itertuples()]
    assert got == exp["by_sku"], f"by sku: {got}"
    probe = pd.read_sql(sa.text("SELECT total_cents FROM orders WHERE order_id = :id"), conn,
                        params={"id": exp["probe"][0]})
    assert int(probe.total_cents[0]) == exp["probe"][1], probe
    log = pd.read_sql(sa.text("SELECT name, COUNT(*) AS n FROM imago.commands GROUP BY name"), conn)
    assert int(log.set_index("name").n["place_order"]) == exp["orders"], log
    placed = pd.read_sql(sa.text("SELECT placed_at FROM orders LIMIT 5"), conn)
    assert str(placed.placed_at.dtype).startswith("datetime64"), placed.dtypes

# A past state as a database (shop@N), as a BI tool that cannot write AS OF
# connects to it: before the first order there is none, after it one.
with engine.connect() as conn:
    first = int(pd.read_sql(sa.text(
        "SELECT MIN(seq) AS s FROM imago.commands WHERE name = 'place_order'"), conn).s[0])
for seq, want in ((first - 1, 0), (first, 1)):
    past = sa.create_engine(engine.url.set(database=f"{engine.url.database}@{seq}"))
    with past.connect() as conn:
        n = int(pd.read_sql(sa.text("SELECT COUNT(*) AS n FROM orders"), conn).n[0])
        assert n == want, f"shop@{seq}: {n} orders, want {want}"
        assert sorted(sa.inspect(past).get_table_names()) == exp["tables"]
    past.dispose()

print("python (pandas read_sql, SQLAlchemy + PyMySQL, a past state as shop@N): ok")
