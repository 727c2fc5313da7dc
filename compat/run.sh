#!/usr/bin/env bash
# Client compatibility suite: the real imago binary serving the shop, loaded
# through the HTTP API (compat/shopload), queried by the mysql client
# (mariadb-client), pandas over SQLAlchemy + PyMySQL, Node's mysql2 and Go's
# database/sql; each introspects, runs joins and aggregates and checks the
# answers against what shopload submitted. Installs the clients it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
# Ports: free ones picked by the server (0), unless given.
MYSQL_PORT=${MYSQL_PORT:-0}
HTTP_PORT=${HTTP_PORT:-0}

need=()
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v curl >/dev/null || need+=(curl)
/usr/bin/python3 -c 'import pandas, sqlalchemy, pymysql' 2>/dev/null || need+=(python3-pandas python3-sqlalchemy python3-pymysql)
command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
(cd compat/node && npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
server=
cleanup() {
	[[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/imago" ./cmd/imago
go build -o "$work/shopload" ./compat/shopload
go build -o "$work/gocheck" ./compat/gocheck
"$work/imago" serve --data "$work/data" --mysql-addr 127.0.0.1:$MYSQL_PORT \
	--http-addr 127.0.0.1:$HTTP_PORT --log-format json 2>"$work/imago.log" &
server=$!
started=
for _ in $(seq 600); do
	started=$(grep -m1 '"msg":"imago started"' "$work/imago.log" || true)
	[[ -n $started ]] && break
	kill -0 "$server" 2>/dev/null || { cat "$work/imago.log"; exit 1; }
	sleep 0.1
done
[[ -n $started ]] || { echo "imago did not start:"; cat "$work/imago.log"; exit 1; }
port() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'].rsplit(':', 1)[1])" "$started"; }
HTTP_PORT=$(port http)
MYSQL_PORT=$(port mysql)
"$work/shopload" -http "http://127.0.0.1:$HTTP_PORT" -out "$work/expected.json"

# The mysql client: batch output compared with the expected rows as TSV.
expect() { /usr/bin/python3 -c "import json,sys; e=json.load(open('$work/expected.json')); print('\n'.join('\t'.join(map(str, r)) for r in e['$1']))"; }
sql() { mariadb -h 127.0.0.1 -P $MYSQL_PORT -u root -D shop -N -B -e "$1"; }
diff <(sql "SHOW TABLES") <(/usr/bin/python3 -c "import json; print('\n'.join(json.load(open('$work/expected.json'))['tables']))")
diff <(sql "SELECT c.country, COUNT(*), SUM(o.total_cents) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY c.country") <(expect by_country)
diff <(sql "SELECT l.sku, SUM(l.quantity) FROM order_lines l JOIN products p ON p.sku = l.sku GROUP BY l.sku ORDER BY l.sku") <(expect by_sku)
sql "SHOW CREATE TABLE order_lines" | grep -q 'PRIMARY KEY (`order_id`,`line_no`)'
sql "SHOW INDEX FROM orders" | grep -q placed_at
echo "mysql client ($(mariadb --version | awk '{print $3, $5}' | tr -d ,)): ok"

/usr/bin/python3 compat/pandas_check.py "mysql+pymysql://root@127.0.0.1:$MYSQL_PORT/shop" "$work/expected.json"
node compat/node/check.js 127.0.0.1 $MYSQL_PORT "$work/expected.json"
"$work/gocheck" -dsn "root@tcp(127.0.0.1:$MYSQL_PORT)/shop?parseTime=true" -expected "$work/expected.json"
