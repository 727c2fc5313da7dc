-- Analyst queries over the demo shop, each run on Imago and on MariaDB
-- with the same rows (see difftest_test.go). Blocks are separated by blank
-- lines; `-- name:` names a query, `-- args: [...]` runs it prepared with
-- those parameters. An ORDER BY outside parentheses makes row order count:
-- such queries order completely (ties broken by a key).

-- ===== Basics, filters, ORDER BY / LIMIT =====

-- name: basic/count-tables
SELECT (SELECT COUNT(*) FROM customers) AS customers, (SELECT COUNT(*) FROM products) AS products,
       (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM order_lines) AS line_count

-- name: basic/first-customers
SELECT customer_id, name, email, country, registered_at FROM customers ORDER BY registered_at, customer_id LIMIT 10

-- name: basic/last-orders
SELECT order_id, customer_id, status, total_cents, placed_at FROM orders ORDER BY placed_at DESC, order_id DESC LIMIT 15

-- name: basic/offset-page
SELECT order_id, total_cents FROM orders ORDER BY total_cents DESC, order_id LIMIT 10 OFFSET 20

-- name: basic/limit-comma
SELECT sku, name, price_cents FROM products ORDER BY price_cents, sku LIMIT 5, 5

-- name: basic/where-in
SELECT order_id, status FROM orders WHERE status IN ('paid', 'cancelled') AND total_cents > 20000 ORDER BY order_id

-- name: basic/where-between
SELECT sku, price_cents FROM products WHERE price_cents BETWEEN 1000 AND 3000 ORDER BY price_cents DESC, sku

-- name: basic/where-not-between
SELECT COUNT(*) AS n FROM products WHERE price_cents NOT BETWEEN 1000 AND 3000

-- name: basic/like-prefix
SELECT name, email FROM customers WHERE name LIKE 'Anna%' ORDER BY email

-- name: basic/like-underscore
SELECT DISTINCT name FROM products WHERE name LIKE '%e_ Mug' OR name LIKE 'Pro%' ORDER BY name

-- name: basic/not-like
SELECT COUNT(*) AS n FROM customers WHERE email NOT LIKE '%.1%'

-- name: basic/or-and-precedence
SELECT order_id FROM orders WHERE status = 'shipped' OR status = 'paid' AND total_cents < 5000 ORDER BY order_id

-- name: basic/expression-columns
SELECT order_id, total_cents, total_cents / 100 AS euros, total_cents DIV 100 AS whole, total_cents % 100 AS cents
FROM orders ORDER BY order_id LIMIT 20

-- name: basic/order-by-expression
SELECT sku, price_cents, stock FROM products ORDER BY price_cents * stock DESC, sku LIMIT 10

-- name: basic/order-by-position
SELECT category, name, price_cents FROM products ORDER BY 1, 3 DESC, 2 LIMIT 25

-- name: basic/order-by-alias
SELECT sku, price_cents * stock AS stock_value FROM products ORDER BY stock_value DESC, sku LIMIT 10

-- name: basic/distinct-countries
SELECT DISTINCT country FROM customers ORDER BY country

-- name: basic/distinct-pairs
SELECT DISTINCT c.country, o.status FROM customers c JOIN orders o ON o.customer_id = c.customer_id ORDER BY c.country, o.status

-- name: basic/case-buckets
SELECT order_id,
       CASE WHEN total_cents < 2000 THEN 'small' WHEN total_cents < 10000 THEN 'medium' ELSE 'large' END AS size
FROM orders ORDER BY order_id LIMIT 30

-- name: basic/simple-case
SELECT status, CASE status WHEN 'shipped' THEN 1 WHEN 'paid' THEN 2 ELSE 3 END AS rank_key, COUNT(*) AS n
FROM orders GROUP BY status ORDER BY rank_key, status

-- name: basic/if-function
SELECT order_id, IF(paid_at IS NULL, 'unpaid', 'paid') AS payment FROM orders ORDER BY order_id LIMIT 25

-- name: basic/boolean-expressions
SELECT order_id, total_cents > 10000 AS big, status = 'shipped' AS shipped, cancel_reason IS NOT NULL AS has_reason
FROM orders ORDER BY order_id LIMIT 20

-- name: basic/literal-select
SELECT 1 AS one, 'two' AS two, 3.5 AS three, NULL AS nothing, 2 + 3 * 4 AS arithmetic

-- name: basic/in-subselect-literal-list
SELECT sku FROM products WHERE category IN ('books', 'toys') AND stock > 50 ORDER BY sku

-- ===== NULLs =====

-- name: null/count-columns
SELECT COUNT(*) AS all_orders, COUNT(paid_at) AS paid, COUNT(shipped_at) AS shipped,
       COUNT(cancelled_at) AS cancelled, COUNT(cancel_reason) AS reasons FROM orders

-- name: null/is-null
SELECT order_id, status FROM orders WHERE paid_at IS NULL ORDER BY order_id

-- name: null/coalesce
SELECT order_id, COALESCE(shipped_at, paid_at, placed_at) AS last_step FROM orders ORDER BY order_id LIMIT 30

-- name: null/ifnull-text
SELECT order_id, IFNULL(cancel_reason, '-') AS reason FROM orders ORDER BY order_id LIMIT 30

-- name: null/nullif
SELECT status, NULLIF(status, 'placed') AS not_placed, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status

-- name: null/order-nulls-asc
SELECT order_id, shipped_at FROM orders ORDER BY shipped_at, order_id LIMIT 40

-- name: null/order-nulls-desc
SELECT order_id, cancelled_at FROM orders ORDER BY cancelled_at DESC, order_id LIMIT 40

-- name: null/aggregate-of-nulls
SELECT MIN(cancelled_at) AS first_cancel, MAX(cancelled_at) AS last_cancel, COUNT(DISTINCT cancel_reason) AS reasons
FROM orders WHERE status <> 'cancelled'

-- name: null/group-by-null
SELECT cancel_reason, COUNT(*) AS n FROM orders GROUP BY cancel_reason ORDER BY n DESC, cancel_reason

-- name: null/null-safe-equal
SELECT COUNT(*) AS n FROM orders WHERE cancel_reason <=> NULL

-- name: null/arithmetic-with-null
SELECT order_id, total_cents + NULL AS plus_null, CONCAT('x', cancel_reason) AS concat_null FROM orders ORDER BY order_id LIMIT 10

-- name: null/not-in-with-null
SELECT COUNT(*) AS n FROM orders WHERE order_id NOT IN (SELECT CASE WHEN cancel_reason IS NULL THEN NULL ELSE order_id END FROM orders)

-- name: null/sum-of-empty
SELECT SUM(total_cents) AS s, AVG(total_cents) AS a, MAX(total_cents) AS m, COUNT(*) AS n FROM orders WHERE status = 'nonexistent'

-- ===== Aggregates =====

-- name: agg/orders-by-status
SELECT status, COUNT(*) AS orders, SUM(total_cents) AS revenue_cents, MIN(total_cents) AS smallest, MAX(total_cents) AS largest
FROM orders GROUP BY status ORDER BY status

-- name: agg/avg-order-value
SELECT status, AVG(total_cents) AS avg_cents FROM orders GROUP BY status ORDER BY status

-- name: agg/sum-divided
SELECT SUM(total_cents) / 100 AS revenue FROM orders WHERE status = 'shipped'

-- name: agg/avg-rounded
SELECT category, ROUND(AVG(price_cents) / 100, 2) AS avg_price FROM products GROUP BY category ORDER BY category

-- name: agg/count-distinct
SELECT COUNT(DISTINCT customer_id) AS buyers, COUNT(DISTINCT status) AS statuses FROM orders

-- name: agg/count-distinct-per-group
SELECT c.country, COUNT(DISTINCT o.customer_id) AS buyers, COUNT(*) AS orders
FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY c.country

-- name: agg/stddev-variance
SELECT category, STDDEV_POP(price_cents) AS sd_pop, STDDEV_SAMP(price_cents) AS sd_samp, VAR_POP(price_cents) AS var_pop,
       VAR_SAMP(price_cents) AS var_samp FROM products GROUP BY category ORDER BY category

-- name: agg/std-variance-aliases
SELECT STD(total_cents) AS sd, STDDEV(total_cents) AS sd2, VARIANCE(total_cents) AS v FROM orders

-- name: agg/bit-aggregates
SELECT category, BIT_OR(stock) AS b_or, BIT_AND(stock) AS b_and, BIT_XOR(stock) AS b_xor FROM products GROUP BY category ORDER BY category

-- name: agg/group-concat
SELECT category, GROUP_CONCAT(sku ORDER BY sku SEPARATOR ',') AS skus FROM products GROUP BY category ORDER BY category

-- name: agg/group-concat-distinct
SELECT country, GROUP_CONCAT(DISTINCT SUBSTRING_INDEX(name, ' ', 1) ORDER BY SUBSTRING_INDEX(name, ' ', 1)) AS first_names
FROM customers GROUP BY country ORDER BY country

-- name: agg/sum-quantity-per-sku
SELECT sku, SUM(quantity) AS units, SUM(quantity * price_cents) AS revenue_cents FROM order_lines GROUP BY sku ORDER BY units DESC, sku LIMIT 20

-- name: agg/avg-of-int-column
SELECT AVG(line_no) AS avg_line, SUM(line_no) AS sum_line, MAX(line_no) AS max_line FROM order_lines

-- name: agg/avg-quantity
SELECT order_id, AVG(quantity) AS avg_qty FROM order_lines GROUP BY order_id ORDER BY order_id LIMIT 20

-- name: agg/min-max-strings
SELECT country, MIN(name) AS first_name, MAX(email) AS last_email FROM customers GROUP BY country ORDER BY country

-- name: agg/min-max-datetimes
SELECT status, MIN(placed_at) AS first_placed, MAX(placed_at) AS last_placed FROM orders GROUP BY status ORDER BY status

-- name: agg/having-count
SELECT customer_id, COUNT(*) AS orders FROM orders GROUP BY customer_id HAVING COUNT(*) >= 15 ORDER BY orders DESC, customer_id

-- name: agg/having-sum
SELECT customer_id, SUM(total_cents) AS spent FROM orders WHERE status <> 'cancelled'
GROUP BY customer_id HAVING SUM(total_cents) > 300000 ORDER BY spent DESC, customer_id

-- name: agg/having-alias
SELECT category, COUNT(*) AS products FROM products GROUP BY category HAVING products > 3 ORDER BY products DESC, category

-- name: agg/having-avg
SELECT category, AVG(price_cents) AS avg_price FROM products GROUP BY category HAVING AVG(price_cents) > 2500 ORDER BY category

-- name: agg/having-without-group-column
SELECT country FROM customers GROUP BY country HAVING MAX(registered_at) > MIN(registered_at) ORDER BY country

-- name: agg/group-by-expression
SELECT total_cents DIV 10000 AS bucket, COUNT(*) AS n FROM orders GROUP BY total_cents DIV 10000 ORDER BY bucket

-- name: agg/group-by-alias
SELECT LEFT(sku, 5) AS prefix, COUNT(*) AS n FROM products GROUP BY prefix ORDER BY prefix

-- name: agg/group-by-two
SELECT o.status, c.country, COUNT(*) AS n, SUM(o.total_cents) AS cents
FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY o.status, c.country ORDER BY o.status, c.country

-- name: agg/sum-case
SELECT c.country,
       SUM(CASE WHEN o.status = 'shipped' THEN 1 ELSE 0 END) AS shipped,
       SUM(CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       COUNT(*) AS total
FROM customers c JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.country ORDER BY c.country

-- name: agg/count-if
SELECT COUNT(IF(status = 'shipped', 1, NULL)) AS shipped, COUNT(CASE WHEN total_cents > 10000 THEN 1 END) AS big FROM orders

-- name: agg/ratio
SELECT status, COUNT(*) / (SELECT COUNT(*) FROM orders) AS share FROM orders GROUP BY status ORDER BY status

-- name: agg/percent-rounded
SELECT status, ROUND(100 * COUNT(*) / (SELECT COUNT(*) FROM orders), 1) AS pct FROM orders GROUP BY status ORDER BY status

-- name: agg/avg-of-sum
SELECT AVG(spent) AS avg_spent, MAX(spent) AS max_spent FROM (SELECT customer_id, SUM(total_cents) AS spent FROM orders GROUP BY customer_id) t

-- name: agg/sum-float
SELECT SUM(total_cents * 1.0E0) AS s, AVG(total_cents * 1.0E0) AS a FROM orders

-- name: agg/sum-decimal-expression
SELECT SUM(total_cents * 0.01) AS euros, AVG(total_cents * 0.01) AS avg_euros FROM orders WHERE status = 'paid'

-- name: agg/global-min-max
SELECT MIN(price_cents) AS cheapest, MAX(price_cents) AS dearest, MAX(price_cents) - MIN(price_cents) AS spread FROM products

-- name: agg/count-star-vs-one
SELECT COUNT(1) AS c1, COUNT(*) AS cstar, COUNT(DISTINCT customer_id, status) AS pairs FROM orders

-- name: agg/having-or
SELECT category, MIN(price_cents) AS lo, MAX(price_cents) AS hi FROM products GROUP BY category
HAVING MIN(price_cents) < 1000 OR MAX(price_cents) > 10000 ORDER BY category

-- name: agg/sum-per-order-lines
SELECT order_id, COUNT(*) AS n_lines, SUM(quantity) AS units FROM order_lines GROUP BY order_id HAVING COUNT(*) = 4 ORDER BY order_id LIMIT 25

-- name: agg/distinct-sum
SELECT SUM(DISTINCT quantity) AS sd, AVG(DISTINCT quantity) AS ad, COUNT(DISTINCT quantity) AS cd FROM order_lines

-- ===== Joins of 2 to 5 tables =====

-- name: join/order-with-customer
SELECT o.order_id, c.name, c.country, o.total_cents FROM orders o JOIN customers c ON c.customer_id = o.customer_id
ORDER BY o.order_id LIMIT 25

-- name: join/lines-with-product
SELECT l.order_id, l.line_no, p.name, p.category, l.quantity, l.price_cents
FROM order_lines l JOIN products p ON p.sku = l.sku ORDER BY l.order_id, l.line_no LIMIT 40

-- name: join/three-tables-revenue-by-country-category
SELECT c.country, p.category, SUM(l.quantity * l.price_cents) AS revenue_cents
FROM orders o JOIN customers c ON c.customer_id = o.customer_id
JOIN order_lines l ON l.order_id = o.order_id JOIN products p ON p.sku = l.sku
WHERE o.status IN ('paid', 'shipped') GROUP BY c.country, p.category ORDER BY c.country, p.category

-- name: join/four-tables-top-customers
SELECT c.customer_id, c.name, COUNT(DISTINCT o.order_id) AS orders, SUM(l.quantity) AS units, COUNT(DISTINCT p.category) AS categories
FROM customers c JOIN orders o ON o.customer_id = c.customer_id
JOIN order_lines l ON l.order_id = o.order_id JOIN products p ON p.sku = l.sku
GROUP BY c.customer_id, c.name ORDER BY units DESC, c.customer_id LIMIT 10

-- name: join/five-tables-self
SELECT c.country, p.category, COUNT(*) AS pairs
FROM customers c JOIN orders o ON o.customer_id = c.customer_id
JOIN order_lines l1 ON l1.order_id = o.order_id JOIN order_lines l2 ON l2.order_id = o.order_id AND l2.line_no > l1.line_no
JOIN products p ON p.sku = l1.sku
GROUP BY c.country, p.category ORDER BY pairs DESC, c.country, p.category LIMIT 15

-- name: join/left-join-counts
SELECT c.customer_id, COUNT(o.order_id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
GROUP BY c.customer_id ORDER BY orders, c.customer_id LIMIT 30

-- name: join/left-join-anti
SELECT c.customer_id, c.name FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.status = 'shipped'
WHERE o.order_id IS NULL ORDER BY c.customer_id

-- name: join/left-join-never-ordered-products
SELECT p.sku, p.name FROM products p LEFT JOIN order_lines l ON l.sku = p.sku WHERE l.sku IS NULL ORDER BY p.sku

-- name: join/right-join
SELECT p.category, COUNT(l.order_id) AS n_lines FROM order_lines l RIGHT JOIN products p ON p.sku = l.sku
GROUP BY p.category ORDER BY p.category

-- name: join/using
SELECT order_id, COUNT(*) AS n_lines, MAX(o.total_cents) AS total FROM orders o JOIN order_lines l USING (order_id)
GROUP BY order_id ORDER BY order_id LIMIT 20

-- name: join/natural-like-with-where
SELECT o.order_id, l.sku FROM orders o, order_lines l WHERE l.order_id = o.order_id AND o.total_cents > 40000 ORDER BY o.order_id, l.sku

-- name: join/cross-join-small
SELECT s.status, c.category FROM (SELECT DISTINCT status FROM orders) s CROSS JOIN (SELECT DISTINCT category FROM products) c
ORDER BY s.status, c.category

-- name: join/self-join-same-country
SELECT a.country, COUNT(*) AS pairs FROM customers a JOIN customers b ON a.country = b.country AND a.customer_id < b.customer_id
GROUP BY a.country ORDER BY a.country

-- name: join/non-equi
SELECT p.category, COUNT(*) AS cheaper_lines FROM order_lines l JOIN products p ON p.sku = l.sku AND l.price_cents < p.price_cents
GROUP BY p.category ORDER BY p.category

-- name: join/join-derived-table
SELECT c.country, AVG(t.spent) AS avg_spent FROM customers c
JOIN (SELECT customer_id, SUM(total_cents) AS spent FROM orders GROUP BY customer_id) t ON t.customer_id = c.customer_id
GROUP BY c.country ORDER BY c.country

-- name: join/join-on-expression
SELECT o.order_id, c.email FROM orders o JOIN customers c ON c.customer_id = o.customer_id AND LEFT(c.email, 1) = 'a'
ORDER BY o.order_id LIMIT 20

-- name: join/left-join-coalesce
SELECT c.customer_id, COALESCE(SUM(o.total_cents), 0) AS spent FROM customers c
LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.status = 'cancelled'
GROUP BY c.customer_id ORDER BY spent DESC, c.customer_id LIMIT 20

-- name: join/multi-left
SELECT c.country, COUNT(DISTINCT o.order_id) AS orders, COUNT(l.line_no) AS n_lines
FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id LEFT JOIN order_lines l ON l.order_id = o.order_id
GROUP BY c.country ORDER BY c.country

-- name: join/price-changes
SELECT p.sku, p.price_cents AS now_cents, MIN(l.price_cents) AS low, MAX(l.price_cents) AS high
FROM products p JOIN order_lines l ON l.sku = p.sku GROUP BY p.sku, p.price_cents ORDER BY p.sku LIMIT 30

-- ===== Window functions =====

-- name: window/row-number
SELECT order_id, customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY placed_at, order_id) AS nth
FROM orders ORDER BY customer_id, nth LIMIT 50

-- name: window/rank-dense-rank
SELECT sku, category, price_cents, RANK() OVER (PARTITION BY category ORDER BY price_cents DESC) AS r,
       DENSE_RANK() OVER (PARTITION BY category ORDER BY price_cents DESC) AS dr
FROM products ORDER BY category, r, sku

-- name: window/percent-rank-cume-dist
SELECT sku, price_cents, PERCENT_RANK() OVER (ORDER BY price_cents) AS pr, CUME_DIST() OVER (ORDER BY price_cents) AS cd
FROM products ORDER BY price_cents, sku

-- name: window/ntile
SELECT customer_id, spent, NTILE(4) OVER (ORDER BY spent DESC, customer_id) AS quartile
FROM (SELECT customer_id, SUM(total_cents) AS spent FROM orders GROUP BY customer_id) t ORDER BY spent DESC, customer_id

-- name: window/lag-lead
SELECT order_id, placed_at, LAG(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at) AS previous,
       LEAD(order_id) OVER (PARTITION BY customer_id ORDER BY placed_at) AS next_order
FROM orders ORDER BY customer_id, placed_at LIMIT 60

-- name: window/lag-offset-default
SELECT order_id, total_cents, COALESCE(LAG(total_cents, 2) OVER (ORDER BY placed_at), 0) AS two_before,
       IFNULL(LEAD(total_cents, 1) OVER (ORDER BY placed_at), -1) AS after
FROM orders ORDER BY placed_at LIMIT 40

-- name: window/first-last-value
SELECT sku, category, price_cents,
       FIRST_VALUE(sku) OVER (PARTITION BY category ORDER BY price_cents, sku) AS cheapest,
       LAST_VALUE(sku) OVER (PARTITION BY category ORDER BY price_cents, sku ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS dearest
FROM products ORDER BY category, price_cents, sku

-- name: window/nth-value
SELECT sku, category, NTH_VALUE(sku, 2) OVER (PARTITION BY category ORDER BY price_cents, sku ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second
FROM products ORDER BY category, sku

-- name: window/running-sum
SELECT order_id, placed_at, total_cents, SUM(total_cents) OVER (ORDER BY placed_at, order_id) AS running
FROM orders ORDER BY placed_at, order_id LIMIT 50

-- name: window/running-sum-rows-frame
SELECT order_id, total_cents, SUM(total_cents) OVER (ORDER BY placed_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM orders ORDER BY placed_at LIMIT 50

-- name: window/moving-avg
SELECT order_id, total_cents, AVG(total_cents) OVER (ORDER BY placed_at ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving
FROM orders ORDER BY placed_at LIMIT 50

-- name: window/moving-avg-partitioned
SELECT order_id, customer_id, AVG(total_cents) OVER (PARTITION BY customer_id ORDER BY placed_at ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS centred
FROM orders ORDER BY customer_id, placed_at LIMIT 60

-- name: window/partition-total-share
SELECT sku, category, price_cents, SUM(price_cents) OVER (PARTITION BY category) AS category_total,
       price_cents / SUM(price_cents) OVER (PARTITION BY category) AS share
FROM products ORDER BY category, sku

-- name: window/count-over
SELECT order_id, customer_id, COUNT(*) OVER (PARTITION BY customer_id) AS orders_of_customer FROM orders ORDER BY order_id LIMIT 40

-- name: window/min-max-over
SELECT sku, category, price_cents - MIN(price_cents) OVER (PARTITION BY category) AS above_min,
       MAX(price_cents) OVER (PARTITION BY category) - price_cents AS below_max
FROM products ORDER BY category, sku

-- name: window/range-frame
SELECT sku, price_cents, COUNT(*) OVER (ORDER BY price_cents RANGE BETWEEN 500 PRECEDING AND 500 FOLLOWING) AS near
FROM products ORDER BY price_cents, sku

-- name: window/following-frame
SELECT order_id, SUM(total_cents) OVER (ORDER BY placed_at ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING) AS next4
FROM orders ORDER BY placed_at LIMIT 40

-- name: window/named-window
SELECT sku, category, price_cents, RANK() OVER w AS r, SUM(price_cents) OVER w AS running
FROM products WINDOW w AS (PARTITION BY category ORDER BY price_cents, sku) ORDER BY category, price_cents, sku

-- name: window/named-window-two
SELECT order_id, ROW_NUMBER() OVER w1 AS n_customer, ROW_NUMBER() OVER w2 AS n_status
FROM orders WINDOW w1 AS (PARTITION BY customer_id ORDER BY order_id), w2 AS (PARTITION BY status ORDER BY order_id)
ORDER BY order_id LIMIT 50

-- name: window/named-window-extended
SELECT sku, category, SUM(price_cents) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair_sum
FROM products WINDOW w AS (PARTITION BY category ORDER BY sku) ORDER BY category, sku

-- name: window/named-beside-inline
SELECT sku, RANK() OVER w AS r, ROW_NUMBER() OVER (ORDER BY sku) AS rn
FROM products WINDOW w AS (ORDER BY price_cents DESC) ORDER BY sku

-- name: window/over-grouped-aggregate
SELECT status, COUNT(*) AS n, RANK() OVER (ORDER BY COUNT(*) DESC) AS r FROM orders GROUP BY status ORDER BY status

-- name: window/share-of-grouped
SELECT category, SUM(price_cents) AS total, SUM(SUM(price_cents)) OVER () AS grand FROM products GROUP BY category ORDER BY category

-- name: window/grouped-running
SELECT DATE_FORMAT(placed_at, '%Y-%m') AS month, COUNT(*) AS orders, SUM(COUNT(*)) OVER (ORDER BY DATE_FORMAT(placed_at, '%Y-%m')) AS cumulative
FROM orders GROUP BY DATE_FORMAT(placed_at, '%Y-%m') ORDER BY month

-- name: window/top-n-per-group
SELECT category, sku, price_cents FROM (
  SELECT category, sku, price_cents, ROW_NUMBER() OVER (PARTITION BY category ORDER BY price_cents DESC, sku) AS rn FROM products) t
WHERE rn <= 3 ORDER BY category, rn

-- name: window/gap-between-orders
SELECT customer_id, AVG(gap) AS avg_gap_s FROM (
  SELECT customer_id, TIMESTAMPDIFF(SECOND, LAG(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at), placed_at) AS gap FROM orders) t
GROUP BY customer_id ORDER BY customer_id LIMIT 30

-- name: window/empty-over
SELECT sku, price_cents, AVG(price_cents) OVER () AS mean FROM products ORDER BY sku

-- name: window/sum-over-partition-order-range-default
SELECT order_id, customer_id, total_cents, SUM(total_cents) OVER (PARTITION BY customer_id ORDER BY total_cents) AS cum
FROM orders ORDER BY customer_id, total_cents, order_id LIMIT 60

-- name: window/rank-ties
SELECT order_id, quantity_sum, RANK() OVER (ORDER BY quantity_sum DESC) AS r, DENSE_RANK() OVER (ORDER BY quantity_sum DESC) AS dr
FROM (SELECT order_id, SUM(quantity) AS quantity_sum FROM order_lines GROUP BY order_id) t ORDER BY r, order_id LIMIT 50

-- ===== CTEs =====

-- name: cte/simple
WITH spent AS (SELECT customer_id, SUM(total_cents) AS s FROM orders GROUP BY customer_id)
SELECT c.country, MAX(spent.s) AS top FROM spent JOIN customers c ON c.customer_id = spent.customer_id GROUP BY c.country ORDER BY c.country

-- name: cte/two
WITH paid AS (SELECT order_id, customer_id, total_cents FROM orders WHERE status IN ('paid', 'shipped')),
     per_customer AS (SELECT customer_id, COUNT(*) AS n, SUM(total_cents) AS s FROM paid GROUP BY customer_id)
SELECT n, COUNT(*) AS customers, SUM(s) AS cents FROM per_customer GROUP BY n ORDER BY n

-- name: cte/referenced-twice
WITH t AS (SELECT category, AVG(price_cents) AS a FROM products GROUP BY category)
SELECT x.category, x.a FROM t x WHERE x.a >= (SELECT AVG(a) FROM t) ORDER BY x.category

-- name: cte/recursive-numbers
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
SELECT i, i * i AS sq FROM n ORDER BY i

-- name: cte/recursive-months
WITH RECURSIVE months (m) AS (SELECT DATE('2025-01-01') UNION ALL SELECT m + INTERVAL 1 MONTH FROM months WHERE m < '2025-12-01')
SELECT months.m, COUNT(o.order_id) AS orders FROM months LEFT JOIN orders o ON o.placed_at >= months.m AND o.placed_at < months.m + INTERVAL 1 MONTH
GROUP BY months.m ORDER BY months.m

-- name: cte/recursive-fibonacci
WITH RECURSIVE fib (n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM fib WHERE n < 30)
SELECT n, a FROM fib ORDER BY n

-- name: cte/recursive-days
WITH RECURSIVE d (day) AS (SELECT DATE(MIN(placed_at)) FROM orders UNION ALL SELECT day + INTERVAL 1 DAY FROM d WHERE day < (SELECT DATE(MIN(placed_at)) + INTERVAL 13 DAY FROM orders))
SELECT d.day, COUNT(o.order_id) AS orders FROM d LEFT JOIN orders o ON DATE(o.placed_at) = d.day GROUP BY d.day ORDER BY d.day

-- name: cte/recursive-string
WITH RECURSIVE s (n, str) AS (SELECT 1, CAST('a' AS CHAR(50)) UNION ALL SELECT n + 1, CONCAT(str, CHAR(97 + n)) FROM s WHERE n < 10)
SELECT n, str FROM s ORDER BY n

-- name: cte/with-window
WITH monthly AS (SELECT DATE_FORMAT(placed_at, '%Y-%m') AS month, SUM(total_cents) AS cents FROM orders GROUP BY DATE_FORMAT(placed_at, '%Y-%m'))
SELECT month, cents, cents - LAG(cents) OVER (ORDER BY month) AS change_cents FROM monthly ORDER BY month

-- name: cte/cohorts
WITH firsts AS (SELECT customer_id, MIN(placed_at) AS first_order FROM orders GROUP BY customer_id)
SELECT DATE_FORMAT(f.first_order, '%Y-%m') AS cohort, COUNT(DISTINCT f.customer_id) AS customers, COUNT(o.order_id) AS orders
FROM firsts f JOIN orders o ON o.customer_id = f.customer_id GROUP BY DATE_FORMAT(f.first_order, '%Y-%m') ORDER BY cohort

-- name: cte/top-customer-join
WITH top AS (SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1)
SELECT o.order_id, o.total_cents FROM orders o JOIN top ON top.customer_id = o.customer_id ORDER BY o.order_id

-- name: cte/column-list
WITH t (cat, n) AS (SELECT category, COUNT(*) FROM products GROUP BY category) SELECT cat, n FROM t ORDER BY n DESC, cat

-- ===== Subqueries =====

-- name: sub/scalar-in-select
SELECT sku, price_cents, (SELECT AVG(price_cents) FROM products) AS avg_all FROM products ORDER BY sku LIMIT 10

-- name: sub/scalar-correlated
SELECT p.sku, p.price_cents, (SELECT COUNT(*) FROM order_lines l WHERE l.sku = p.sku) AS n_lines FROM products p ORDER BY p.sku

-- name: sub/scalar-in-where
SELECT sku, price_cents FROM products WHERE price_cents > (SELECT AVG(price_cents) FROM products) ORDER BY sku

-- name: sub/scalar-correlated-where
SELECT p.sku, p.category, p.price_cents FROM products p
WHERE p.price_cents > (SELECT AVG(p2.price_cents) FROM products p2 WHERE p2.category = p.category) ORDER BY p.sku

-- name: sub/scalar-in-grouped-select
SELECT category, AVG(price_cents) - (SELECT AVG(price_cents) FROM products) AS vs_all FROM products GROUP BY category ORDER BY category

-- name: sub/scalar-in-having
SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id
HAVING COUNT(*) > (SELECT COUNT(*) / COUNT(DISTINCT customer_id) FROM orders) ORDER BY customer_id

-- name: sub/in
SELECT customer_id, name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE total_cents > 50000) ORDER BY customer_id

-- name: sub/not-in
SELECT sku FROM products WHERE sku NOT IN (SELECT sku FROM order_lines) ORDER BY sku

-- name: sub/exists
SELECT c.customer_id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'cancelled')
ORDER BY c.customer_id

-- name: sub/not-exists
SELECT c.customer_id, c.country FROM customers c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'shipped') ORDER BY c.customer_id

-- name: sub/two-exists
SELECT COUNT(*) AS n FROM customers c
WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'shipped')
  AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'cancelled')

-- name: sub/derived-table
SELECT size, COUNT(*) AS n FROM (SELECT order_id, CASE WHEN total_cents < 5000 THEN 'S' WHEN total_cents < 20000 THEN 'M' ELSE 'L' END AS size FROM orders) t
GROUP BY size ORDER BY size

-- name: sub/derived-nested
SELECT MAX(n) AS most FROM (SELECT customer_id, COUNT(*) AS n FROM (SELECT * FROM orders WHERE status <> 'cancelled') a GROUP BY customer_id) b

-- name: sub/any
SELECT sku, price_cents FROM products WHERE price_cents > ANY (SELECT price_cents FROM products WHERE category = 'electronics') ORDER BY sku

-- name: sub/all
SELECT sku, price_cents FROM products WHERE price_cents >= ALL (SELECT price_cents FROM products WHERE category = 'books') ORDER BY sku

-- name: sub/some-equal
SELECT COUNT(*) AS n FROM order_lines WHERE quantity = SOME (SELECT 3)

-- name: sub/row-subquery
SELECT order_id, line_no FROM order_lines WHERE (order_id, line_no) IN (SELECT order_id, MAX(line_no) FROM order_lines GROUP BY order_id)
ORDER BY order_id LIMIT 30

-- name: sub/customer-of-most-orders
SELECT order_id, total_cents FROM orders
WHERE customer_id = (SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1) ORDER BY order_id

-- name: sub/correlated-max-per-group
SELECT o.customer_id, o.order_id, o.total_cents FROM orders o
WHERE o.total_cents = (SELECT MAX(o2.total_cents) FROM orders o2 WHERE o2.customer_id = o.customer_id) ORDER BY o.customer_id, o.order_id

-- name: sub/in-with-group-having
SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders GROUP BY customer_id HAVING SUM(total_cents) > 200000) ORDER BY name, customer_id

-- name: sub/exists-uncorrelated
SELECT COUNT(*) AS n FROM products WHERE EXISTS (SELECT 1 FROM orders WHERE status = 'cancelled')

-- name: sub/scalar-subquery-arith
SELECT (SELECT MAX(total_cents) FROM orders) - (SELECT MIN(total_cents) FROM orders) AS spread

-- name: sub/in-derived-union
SELECT COUNT(*) AS n FROM orders WHERE status IN (SELECT 'paid' UNION SELECT 'shipped')

-- name: sub/lateral-like-correlated-in-select
SELECT c.customer_id, (SELECT MAX(placed_at) FROM orders o WHERE o.customer_id = c.customer_id) AS last_order,
       (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'placed') AS open_orders
FROM customers c ORDER BY c.customer_id LIMIT 30

-- ===== ROLLUP =====

-- name: rollup/status
SELECT status, COUNT(*) AS n, SUM(total_cents) AS cents FROM orders GROUP BY status WITH ROLLUP

-- name: rollup/two-levels
SELECT c.country, o.status, COUNT(*) AS n FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country, o.status WITH ROLLUP

-- name: rollup/category
SELECT category, COUNT(*) AS products, SUM(stock) AS stock FROM products GROUP BY category WITH ROLLUP

-- name: rollup/coalesce-label
SELECT COALESCE(category, 'all') AS category, MAX(price_cents) AS dearest FROM products GROUP BY category WITH ROLLUP

-- ===== Date and time =====

-- name: date/parts
SELECT order_id, YEAR(placed_at) AS y, MONTH(placed_at) AS m, DAY(placed_at) AS d, HOUR(placed_at) AS h, MINUTE(placed_at) AS mi,
       SECOND(placed_at) AS s, MICROSECOND(placed_at) AS us FROM orders ORDER BY order_id LIMIT 20

-- name: date/orders-per-month
SELECT YEAR(placed_at) AS y, MONTH(placed_at) AS m, COUNT(*) AS orders, SUM(total_cents) AS cents FROM orders
GROUP BY YEAR(placed_at), MONTH(placed_at) ORDER BY y, m

-- name: date/orders-per-quarter
SELECT QUARTER(placed_at) AS q, COUNT(*) AS n FROM orders GROUP BY QUARTER(placed_at) ORDER BY q

-- name: date/weekday
SELECT DAYOFWEEK(placed_at) AS dow, DAYNAME(placed_at) AS day_name, COUNT(*) AS n FROM orders GROUP BY DAYOFWEEK(placed_at), DAYNAME(placed_at) ORDER BY dow

-- name: date/weekday-index
SELECT WEEKDAY(placed_at) AS wd, COUNT(*) AS n FROM orders GROUP BY WEEKDAY(placed_at) ORDER BY wd

-- name: date/month-name
SELECT MONTHNAME(placed_at) AS month_name, COUNT(*) AS n FROM orders GROUP BY MONTHNAME(placed_at) ORDER BY MIN(placed_at)

-- name: date/date-format
SELECT order_id, DATE_FORMAT(placed_at, '%Y-%m-%d %H:%i') AS minute, DATE_FORMAT(placed_at, '%a %b %e %y') AS pretty,
       DATE_FORMAT(placed_at, '%W %M %D %j %p %r %T %f') AS verbose FROM orders ORDER BY order_id LIMIT 20

-- name: date/week
SELECT WEEK(placed_at) AS w, COUNT(*) AS n FROM orders GROUP BY WEEK(placed_at) ORDER BY w LIMIT 20

-- name: date/week-mode
SELECT order_id, WEEK(placed_at, 1) AS w1, WEEK(placed_at, 3) AS w3, YEARWEEK(placed_at) AS yw, WEEKOFYEAR(placed_at) AS woy
FROM orders ORDER BY order_id LIMIT 20

-- name: date/dayofyear
SELECT order_id, DAYOFYEAR(placed_at) AS doy, DAYOFMONTH(placed_at) AS dom, LAST_DAY(placed_at) AS month_end
FROM orders ORDER BY order_id LIMIT 20

-- name: date/date-function
SELECT DATE(placed_at) AS day, COUNT(*) AS n FROM orders GROUP BY DATE(placed_at) ORDER BY n DESC, day LIMIT 10

-- name: date/time-function
SELECT order_id, TIME(placed_at) AS t FROM orders ORDER BY order_id LIMIT 15

-- name: date/datediff
SELECT order_id, DATEDIFF(shipped_at, placed_at) AS days_to_ship FROM orders WHERE shipped_at IS NOT NULL ORDER BY order_id LIMIT 30

-- name: date/timestampdiff-units
SELECT order_id, TIMESTAMPDIFF(MINUTE, placed_at, paid_at) AS minutes, TIMESTAMPDIFF(HOUR, placed_at, paid_at) AS hours,
       TIMESTAMPDIFF(MICROSECOND, placed_at, paid_at) AS micros FROM orders WHERE paid_at IS NOT NULL ORDER BY order_id LIMIT 30

-- name: date/avg-time-to-pay
SELECT status, AVG(TIMESTAMPDIFF(SECOND, placed_at, paid_at)) AS avg_s FROM orders WHERE paid_at IS NOT NULL GROUP BY status ORDER BY status

-- name: date/date-add-interval
SELECT order_id, DATE_ADD(placed_at, INTERVAL 7 DAY) AS week_later, DATE_SUB(placed_at, INTERVAL 1 MONTH) AS month_before
FROM orders ORDER BY order_id LIMIT 20

-- name: date/minus-interval
SELECT order_id, placed_at - INTERVAL 1 HOUR AS hour_before, placed_at + INTERVAL 90 MINUTE AS later FROM orders ORDER BY order_id LIMIT 20

-- name: date/interval-units
SELECT order_id, placed_at + INTERVAL 1 SECOND AS s, placed_at + INTERVAL 1 WEEK AS w, placed_at + INTERVAL 1 QUARTER AS q,
       placed_at + INTERVAL 1 YEAR AS y FROM orders ORDER BY order_id LIMIT 10

-- name: date/where-range
SELECT COUNT(*) AS n, SUM(total_cents) AS cents FROM orders WHERE placed_at >= '2025-03-01' AND placed_at < '2025-04-01'

-- name: date/where-date-literal
SELECT order_id FROM orders WHERE DATE(placed_at) = (SELECT DATE(MIN(placed_at)) FROM orders) ORDER BY order_id

-- name: date/unix-timestamp
SELECT order_id, UNIX_TIMESTAMP(placed_at) AS ts FROM orders ORDER BY order_id LIMIT 10

-- name: date/from-unixtime
SELECT FROM_UNIXTIME(1736000000) AS t, FROM_UNIXTIME(1736000000, '%Y-%m-%d') AS d

-- name: date/str-to-date
SELECT STR_TO_DATE('2025-03-14 15:09:26', '%Y-%m-%d %H:%i:%s') AS parsed, STR_TO_DATE('14/03/2025', '%d/%m/%Y') AS parsed_day

-- name: date/makedate-extract
SELECT MAKEDATE(2025, 100) AS d, EXTRACT(YEAR_MONTH FROM '2025-07-19 10:00:00') AS ym, EXTRACT(HOUR FROM '2025-07-19 10:00:00') AS h

-- name: date/to-days
SELECT order_id, TO_DAYS(placed_at) - TO_DAYS('2025-01-01') AS day_no FROM orders ORDER BY order_id LIMIT 10

-- name: date/cohort-month-diff
SELECT c.customer_id, TIMESTAMPDIFF(MONTH, c.registered_at, MAX(o.placed_at)) AS months_active
FROM customers c JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.registered_at ORDER BY c.customer_id LIMIT 30

-- name: date/first-of-month
SELECT DATE_FORMAT(placed_at, '%Y-%m-01') AS month_start, COUNT(*) AS n FROM orders GROUP BY DATE_FORMAT(placed_at, '%Y-%m-01') ORDER BY month_start

-- name: date/hour-histogram
SELECT HOUR(placed_at) AS h, COUNT(*) AS n FROM orders GROUP BY HOUR(placed_at) ORDER BY h

-- name: date/cast-date
SELECT CAST(placed_at AS DATE) AS d, CAST(placed_at AS CHAR) AS s, CAST('2025-02-03' AS DATETIME) AS dt FROM orders ORDER BY order_id LIMIT 5

-- name: date/timestamp-function
SELECT TIMESTAMP('2025-02-03') AS ts, TIMESTAMP('2025-02-03 04:05:06.789') AS ts2, TIMESTAMPADD(DAY, 3, '2025-02-27') AS added

-- name: date/date-compare-string
SELECT COUNT(*) AS n FROM orders WHERE paid_at > '2025-06-30 23:59:59.999999'

-- name: date/between-dates
SELECT COUNT(*) AS n FROM customers WHERE registered_at BETWEEN '2025-01-01' AND '2025-01-15'

-- name: date/sec-to-time
SELECT SEC_TO_TIME(3725) AS t, TIME_TO_SEC('01:02:05') AS s, TIMEDIFF('2025-01-02 10:00:00', '2025-01-01 08:30:00') AS d

-- ===== Strings =====

-- name: str/concat
SELECT customer_id, CONCAT(name, ' <', email, '>') AS contact, CONCAT_WS(', ', name, country) AS label FROM customers ORDER BY customer_id LIMIT 20

-- name: str/upper-lower
SELECT customer_id, UPPER(name) AS up, LOWER(name) AS low, UCASE(country) AS uc, LCASE(country) AS lc FROM customers ORDER BY customer_id LIMIT 20

-- name: str/lengths
SELECT customer_id, name, LENGTH(name) AS bytes, CHAR_LENGTH(name) AS chars, CHARACTER_LENGTH(email) AS email_chars
FROM customers ORDER BY customer_id LIMIT 40

-- name: str/substring
SELECT sku, SUBSTRING(sku, 3) AS rest, SUBSTRING(sku, 3, 3) AS cat, SUBSTR(sku, -4) AS tail, MID(sku, 2, 2) AS mid2
FROM products ORDER BY sku LIMIT 20

-- name: str/left-right
SELECT email, LEFT(email, 5) AS l5, RIGHT(email, 11) AS r11 FROM customers ORDER BY email LIMIT 20

-- name: str/substring-index
SELECT email, SUBSTRING_INDEX(email, '@', 1) AS local_part, SUBSTRING_INDEX(email, '@', -1) AS domain,
       SUBSTRING_INDEX(name, ' ', -1) AS last_name FROM customers ORDER BY email LIMIT 20

-- name: str/domains
SELECT SUBSTRING_INDEX(email, '@', -1) AS domain, COUNT(*) AS n FROM customers GROUP BY SUBSTRING_INDEX(email, '@', -1) ORDER BY domain

-- name: str/locate-instr-position
SELECT email, LOCATE('.', email) AS first_dot, LOCATE('.', email, 10) AS dot_after_10, INSTR(email, '@') AS at_pos, POSITION('@' IN email) AS pos
FROM customers ORDER BY email LIMIT 20

-- name: str/replace
SELECT sku, REPLACE(sku, '-', '/') AS slashed, REPLACE(name, ' ', '') AS squashed FROM products ORDER BY sku LIMIT 20

-- name: str/pad
SELECT sku, LPAD(CAST(stock AS CHAR), 5, '0') AS padded, RPAD(category, 12, '.') AS dotted, LPAD(name, 6, '*') AS cut FROM products ORDER BY sku LIMIT 20

-- name: str/trim
SELECT TRIM('  x  ') AS t, LTRIM('  x  ') AS lt, RTRIM('  x  ') AS rt, TRIM(LEADING 'x' FROM 'xxaxx') AS tl, TRIM(BOTH 'x' FROM 'xxaxx') AS tb

-- name: str/reverse-repeat
SELECT country, REVERSE(country) AS rev, REPEAT(country, 3) AS rep, SPACE(2) AS sp FROM customers GROUP BY country ORDER BY country

-- name: str/like-case
SELECT COUNT(*) AS n FROM products WHERE name LIKE '%mug%'

-- name: str/regexp
SELECT name FROM products WHERE name REGEXP '^(Pro|Eco) ' ORDER BY name, sku

-- name: str/regexp-like
SELECT COUNT(*) AS n FROM customers WHERE email RLIKE '^[a-m]'

-- name: str/regexp-replace
SELECT sku, REGEXP_REPLACE(sku, '[0-9]+$', 'N') AS pattern FROM products ORDER BY sku LIMIT 10

-- name: str/strcmp-field
SELECT country, STRCMP(country, 'FR') AS cmp, FIELD(country, 'US', 'DE', 'GB') AS fld, ELT(2, 'a', 'b', 'c') AS elt
FROM customers GROUP BY country ORDER BY country

-- name: str/hex-ascii
SELECT country, HEX(country) AS h, ASCII(country) AS a, ORD(country) AS o, CHAR(65, 66) AS c FROM customers GROUP BY country ORDER BY country

-- name: str/md5-sha
SELECT sku, MD5(sku) AS md5, SHA1(sku) AS sha1, SHA2(sku, 256) AS sha256, CRC32(sku) AS crc FROM products ORDER BY sku LIMIT 10

-- name: str/format-number
SELECT sku, FORMAT(price_cents / 100, 2) AS price, FORMAT(price_cents * stock, 0) AS stock_value FROM products ORDER BY sku LIMIT 20

-- name: str/insert-function
SELECT sku, INSERT(sku, 1, 1, 'X') AS ins FROM products ORDER BY sku LIMIT 5

-- name: str/quote-and-conversions
SELECT QUOTE(name) AS q, CAST(price_cents AS CHAR) AS s, CONVERT(price_cents, CHAR) AS s2 FROM products ORDER BY sku LIMIT 5

-- name: str/group-by-initial
SELECT LEFT(name, 1) AS initial, COUNT(*) AS n FROM customers GROUP BY LEFT(name, 1) ORDER BY initial

-- name: str/order-by-string-collation
SELECT name FROM customers GROUP BY name ORDER BY name LIMIT 40

-- name: str/concat-number
SELECT CONCAT(order_id, ':', total_cents) AS s, CONCAT(total_cents / 100) AS e FROM orders ORDER BY order_id LIMIT 10

-- name: str/lower-compare
SELECT COUNT(*) AS n FROM customers WHERE LOWER(name) LIKE 'a%'

-- name: str/soundex-like-string-funcs
SELECT LEFT(UPPER(email), 3) AS u3, CHAR_LENGTH(TRIM(name)) AS n FROM customers ORDER BY customer_id LIMIT 5

-- ===== Math =====

-- name: math/rounding
SELECT order_id, total_cents / 7 AS q, ROUND(total_cents / 7) AS r0, ROUND(total_cents / 7, 2) AS r2, ROUND(total_cents, -2) AS rm2,
       TRUNCATE(total_cents / 7, 1) AS t1 FROM orders ORDER BY order_id LIMIT 20

-- name: math/floor-ceil
SELECT order_id, FLOOR(total_cents / 1000) AS f, CEIL(total_cents / 1000) AS c, CEILING(total_cents / 1000.0) AS c2 FROM orders ORDER BY order_id LIMIT 20

-- name: math/abs-sign-mod
SELECT sku, ABS(price_cents - 3000) AS dist, SIGN(price_cents - 3000) AS side, MOD(price_cents, 7) AS m7, price_cents % 13 AS m13
FROM products ORDER BY sku LIMIT 20

-- name: math/pow-sqrt
SELECT sku, POW(stock, 2) AS sq, POWER(2, 10) AS p, SQRT(price_cents) AS root FROM products ORDER BY sku LIMIT 20

-- name: math/log-exp
SELECT sku, LN(price_cents) AS ln, LOG10(price_cents) AS l10, LOG2(stock) AS l2, LOG(2, stock) AS lb, EXP(1) AS e FROM products ORDER BY sku LIMIT 20

-- name: math/greatest-least
SELECT order_id, GREATEST(total_cents, 10000) AS at_least, LEAST(total_cents, 10000) AS at_most FROM orders ORDER BY order_id LIMIT 20

-- name: math/integer-division
SELECT 7 / 2 AS d, 7 DIV 2 AS i, -7 DIV 2 AS ni, 7 % 3 AS m, -7 % 3 AS nm, 1 / 3 AS third, 10 / 4 * 4 AS back

-- name: math/division-by-zero
SELECT 1 / 0 AS a, 1 DIV 0 AS b, MOD(1, 0) AS c

-- name: math/decimal-literals
SELECT 0.1 + 0.2 AS s, 1.50 * 3 AS p, 100.0 / 3 AS q, 2.5 - 1.25 AS d

-- name: math/float-literals
SELECT 1e3 AS a, 2.5E-1 * 4 AS b, 1.0E0 / 3 AS c

-- name: math/pi-trig
SELECT ROUND(PI(), 6) AS pi, ROUND(SIN(PI() / 2), 6) AS s, ROUND(COS(0), 6) AS c, ROUND(DEGREES(PI()), 3) AS deg, ROUND(RADIANS(180), 6) AS rad

-- name: math/average-line-value
SELECT AVG(quantity * price_cents) AS avg_value, ROUND(AVG(quantity * price_cents) / 100, 2) AS avg_eur FROM order_lines

-- name: math/percentages
SELECT p.category, ROUND(100.0 * SUM(l.quantity) / (SELECT SUM(quantity) FROM order_lines), 2) AS pct_units
FROM order_lines l JOIN products p ON p.sku = l.sku GROUP BY p.category ORDER BY p.category

-- name: math/conv-bin-oct
SELECT stock, BIN(stock) AS b, OCT(stock) AS o, CONV(stock, 10, 16) AS h FROM products ORDER BY sku LIMIT 10

-- name: math/cast-signed-unsigned-decimal
SELECT CAST('42' AS SIGNED) AS s, CAST(-1 AS UNSIGNED) AS u, CAST(3.14159 AS DECIMAL(5, 2)) AS d, CAST(price_cents / 100 AS DECIMAL(10, 2)) AS p
FROM products ORDER BY sku LIMIT 5

-- name: math/bit-ops
SELECT stock, stock & 7 AS band, stock | 8 AS bor, stock ^ 5 AS bxor, stock << 2 AS shl, stock >> 1 AS shr, BIT_COUNT(stock) AS bits
FROM products ORDER BY sku LIMIT 10

-- ===== UNION, INTERSECT, EXCEPT =====

-- name: set/union
SELECT customer_id AS id FROM customers WHERE country = 'US' UNION SELECT customer_id FROM orders WHERE total_cents > 60000 ORDER BY id

-- name: set/union-all
SELECT 'order' AS kind, COUNT(*) AS n FROM orders UNION ALL SELECT 'line', COUNT(*) FROM order_lines UNION ALL SELECT 'customer', COUNT(*) FROM customers

-- name: set/union-all-types
SELECT sku AS id, price_cents AS v FROM products WHERE stock < 30 UNION ALL SELECT order_id, total_cents FROM orders WHERE total_cents > 70000 ORDER BY id

-- name: set/union-distinct-duplicates
SELECT status FROM orders UNION SELECT status FROM orders UNION SELECT 'archived' ORDER BY status

-- name: set/union-with-limit
(SELECT order_id, total_cents FROM orders ORDER BY total_cents DESC, order_id LIMIT 3)
UNION ALL
(SELECT order_id, total_cents FROM orders ORDER BY total_cents, order_id LIMIT 3)

-- name: set/intersect
SELECT customer_id FROM orders WHERE status = 'shipped' INTERSECT SELECT customer_id FROM orders WHERE status = 'cancelled' ORDER BY customer_id

-- name: set/except
SELECT customer_id FROM customers EXCEPT SELECT customer_id FROM orders WHERE status = 'shipped' ORDER BY customer_id

-- name: set/union-in-derived
SELECT kind, SUM(n) AS n FROM (SELECT 'paid' AS kind, COUNT(*) AS n FROM orders WHERE paid_at IS NOT NULL
  UNION ALL SELECT 'shipped', COUNT(*) FROM orders WHERE shipped_at IS NOT NULL) t GROUP BY kind ORDER BY kind

-- name: set/union-mixed-numeric
SELECT 1 AS v UNION ALL SELECT 2.5 UNION ALL SELECT 3 ORDER BY v

-- ===== DISTINCT =====

-- name: distinct/category-count
SELECT COUNT(*) AS n FROM (SELECT DISTINCT category FROM products) t

-- name: distinct/with-expression
SELECT DISTINCT YEAR(placed_at) AS y, QUARTER(placed_at) AS q FROM orders ORDER BY y, q

-- name: distinct/with-null
SELECT DISTINCT cancel_reason FROM orders ORDER BY cancel_reason

-- name: distinct/order-by-column-in-list
SELECT DISTINCT customer_id FROM orders WHERE total_cents > 40000 ORDER BY customer_id

-- name: distinct/with-limit
SELECT DISTINCT sku FROM order_lines ORDER BY sku LIMIT 10

-- ===== Prepared statements with parameters =====

-- name: prep/customer-orders
-- args: ["d-c000001"]
SELECT order_id, status, total_cents FROM orders WHERE customer_id = ? ORDER BY order_id

-- name: prep/status-and-amount
-- args: ["shipped", 20000]
SELECT COUNT(*) AS n, SUM(total_cents) AS cents FROM orders WHERE status = ? AND total_cents > ?

-- name: prep/date-range
-- args: ["2025-02-01", "2025-05-01"]
SELECT DATE_FORMAT(placed_at, '%Y-%m') AS month, COUNT(*) AS n FROM orders WHERE placed_at >= ? AND placed_at < ? GROUP BY DATE_FORMAT(placed_at, '%Y-%m') ORDER BY month

-- name: prep/limit-param
-- args: [5]
SELECT sku, price_cents FROM products ORDER BY price_cents DESC, sku LIMIT ?

-- name: prep/in-list
-- args: ["books", "toys", "garden"]
SELECT category, COUNT(*) AS n FROM products WHERE category IN (?, ?, ?) GROUP BY category ORDER BY category

-- name: prep/like
-- args: ["%Mug%"]
SELECT sku, name FROM products WHERE name LIKE ? ORDER BY sku

-- name: prep/having-param
-- args: [10]
SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id HAVING COUNT(*) > ? ORDER BY n DESC, customer_id

-- name: prep/window-param
-- args: ["electronics"]
SELECT sku, price_cents, RANK() OVER (ORDER BY price_cents DESC) AS r FROM products WHERE category = ? ORDER BY r, sku

-- name: prep/subquery-param
-- args: ["US"]
SELECT COUNT(*) AS n FROM orders WHERE customer_id IN (SELECT customer_id FROM customers WHERE country = ?)

-- name: prep/arith-param
-- args: [100]
SELECT order_id, total_cents / ? AS euros FROM orders ORDER BY order_id LIMIT 10

-- name: prep/sum-param
-- args: [2]
SELECT SUM(quantity * ?) AS doubled, AVG(quantity) AS a FROM order_lines

-- name: prep/datetime-param-add
-- args: ["2025-06-01 12:00:00"]
SELECT COUNT(*) AS n FROM orders WHERE placed_at < ? + INTERVAL 1 DAY

-- name: prep/null-param
-- args: [null]
SELECT COUNT(*) AS n FROM orders WHERE cancel_reason <=> ?

-- name: prep/cte-param
-- args: [3]
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT SUM(i) AS s FROM n

-- name: prep/join-param
-- args: ["DE", "shipped"]
SELECT p.category, SUM(l.quantity) AS units FROM customers c JOIN orders o ON o.customer_id = c.customer_id
JOIN order_lines l ON l.order_id = o.order_id JOIN products p ON p.sku = l.sku
WHERE c.country = ? AND o.status = ? GROUP BY p.category ORDER BY p.category

-- name: prep/string-param-concat
-- args: ["#"]
SELECT CONCAT(?, sku) AS tagged FROM products ORDER BY sku LIMIT 5

-- ===== Dashboard-style =====

-- name: dash/kpis
SELECT COUNT(*) AS orders, SUM(total_cents) AS gross, SUM(CASE WHEN status = 'cancelled' THEN total_cents ELSE 0 END) AS cancelled_cents,
       AVG(total_cents) AS aov, COUNT(DISTINCT customer_id) AS customers FROM orders

-- name: dash/monthly-revenue
SELECT DATE_FORMAT(placed_at, '%Y-%m') AS month, SUM(total_cents) / 100 AS revenue, COUNT(*) AS orders,
       SUM(total_cents) / COUNT(*) / 100 AS aov FROM orders WHERE status IN ('paid', 'shipped')
GROUP BY DATE_FORMAT(placed_at, '%Y-%m') ORDER BY month

-- name: dash/top-products
SELECT p.sku, p.name, SUM(l.quantity) AS units, SUM(l.quantity * l.price_cents) / 100 AS revenue
FROM order_lines l JOIN products p ON p.sku = l.sku JOIN orders o ON o.order_id = l.order_id WHERE o.status <> 'cancelled'
GROUP BY p.sku, p.name ORDER BY revenue DESC, p.sku LIMIT 10

-- name: dash/cancel-reasons
SELECT cancel_reason, COUNT(*) AS n, ROUND(100 * COUNT(*) / SUM(COUNT(*)) OVER (), 2) AS pct FROM orders WHERE status = 'cancelled'
GROUP BY cancel_reason ORDER BY n DESC, cancel_reason

-- name: dash/repeat-customers
SELECT CASE WHEN n = 1 THEN 'one' WHEN n <= 5 THEN 'few' ELSE 'many' END AS kind, COUNT(*) AS customers
FROM (SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id) t GROUP BY CASE WHEN n = 1 THEN 'one' WHEN n <= 5 THEN 'few' ELSE 'many' END
ORDER BY kind

-- name: dash/fulfilment-funnel
SELECT COUNT(*) AS placed, COUNT(paid_at) AS paid, COUNT(shipped_at) AS shipped,
       ROUND(COUNT(paid_at) / COUNT(*), 4) AS pay_rate, ROUND(COUNT(shipped_at) / COUNT(paid_at), 4) AS ship_rate FROM orders

-- name: dash/basket-size
SELECT n_lines, COUNT(*) AS orders, AVG(total) AS avg_total FROM (
  SELECT o.order_id, COUNT(*) AS n_lines, MAX(o.total_cents) AS total FROM orders o JOIN order_lines l ON l.order_id = o.order_id GROUP BY o.order_id) t
GROUP BY n_lines ORDER BY n_lines

-- name: dash/country-share
SELECT c.country, SUM(o.total_cents) AS cents, SUM(o.total_cents) / SUM(SUM(o.total_cents)) OVER () AS share
FROM customers c JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.country ORDER BY cents DESC, c.country

-- name: dash/products-bought-together
SELECT a.sku AS sku_a, b.sku AS sku_b, COUNT(*) AS together FROM order_lines a JOIN order_lines b ON a.order_id = b.order_id AND a.sku < b.sku
GROUP BY a.sku, b.sku ORDER BY together DESC, sku_a, sku_b LIMIT 10

-- name: dash/low-stock
SELECT sku, name, stock FROM products WHERE stock < (SELECT AVG(stock) / 2 FROM products) ORDER BY stock, sku

-- name: dash/weekday-hour-heatmap
SELECT DAYOFWEEK(placed_at) AS dow, HOUR(placed_at) DIV 6 AS part, COUNT(*) AS n FROM orders GROUP BY DAYOFWEEK(placed_at), HOUR(placed_at) DIV 6 ORDER BY dow, part

-- name: dash/month-over-month
WITH m AS (SELECT YEAR(placed_at) AS y, MONTH(placed_at) AS mo, SUM(total_cents) AS cents FROM orders GROUP BY YEAR(placed_at), MONTH(placed_at))
SELECT y, mo, cents, ROUND(100 * (cents - LAG(cents) OVER (ORDER BY y, mo)) / LAG(cents) OVER (ORDER BY y, mo), 1) AS growth_pct FROM m ORDER BY y, mo

-- name: dash/customer-lifetime
SELECT c.customer_id, c.country, MIN(o.placed_at) AS first_order, MAX(o.placed_at) AS last_order, COUNT(*) AS orders,
       SUM(o.total_cents) AS spent, DATEDIFF(MAX(o.placed_at), MIN(o.placed_at)) AS active_days
FROM customers c JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.country ORDER BY spent DESC, c.customer_id LIMIT 20

-- name: dash/median-like
SELECT total_cents FROM (SELECT total_cents, ROW_NUMBER() OVER (ORDER BY total_cents, order_id) AS rn, COUNT(*) OVER () AS n FROM orders) t
WHERE rn = (n + 1) DIV 2

-- ===== The forms deviations.txt recommends (each must agree) =====

-- name: works/sum-divided-rounded
SELECT ROUND(SUM(total_cents) / 100, 4) AS revenue FROM orders WHERE status = 'shipped'

-- name: works/scalar-subquery-cross-join
SELECT p.category, CAST(AVG(p.price_cents) - MAX(t.a) AS DECIMAL(20, 4)) AS vs_all FROM products p CROSS JOIN (SELECT AVG(price_cents) AS a FROM products) t
GROUP BY p.category ORDER BY p.category

-- name: works/window-over-grouped-derived
SELECT status, n, RANK() OVER (ORDER BY n DESC) AS r FROM (SELECT status, COUNT(*) AS n FROM orders GROUP BY status) g ORDER BY status

-- name: works/avg-of-derived-rounded
SELECT c.country, CAST(AVG(t.spent) AS DECIMAL(20, 4)) AS avg_spent FROM customers c
JOIN (SELECT customer_id, SUM(total_cents) AS spent FROM orders GROUP BY customer_id) t ON t.customer_id = c.customer_id
GROUP BY c.country ORDER BY c.country

-- name: works/std-of-double
SELECT STD(total_cents * 1.0E0) AS sd, VARIANCE(total_cents * 1.0E0) AS v FROM orders

-- name: works/all-as-max
SELECT sku, price_cents FROM products WHERE price_cents >= (SELECT MAX(price_cents) FROM products WHERE category = 'books') ORDER BY sku

-- name: works/any-as-min
SELECT sku, price_cents FROM products WHERE price_cents > (SELECT MIN(price_cents) FROM products WHERE category = 'electronics') ORDER BY sku

-- name: works/running-sum-unique-rows
SELECT order_id, customer_id, total_cents,
       SUM(total_cents) OVER (PARTITION BY customer_id ORDER BY total_cents, order_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
FROM orders ORDER BY customer_id, total_cents, order_id LIMIT 60

-- name: works/row-in-as-exists
SELECT l.order_id, l.line_no FROM order_lines l
WHERE EXISTS (SELECT 1 FROM order_lines m WHERE m.order_id = l.order_id GROUP BY m.order_id HAVING MAX(m.line_no) = l.line_no)
ORDER BY l.order_id, l.line_no LIMIT 30

-- name: works/cume-dist-by-counts
SELECT sku, price_cents, COUNT(*) OVER (ORDER BY price_cents RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) / COUNT(*) OVER () AS cd
FROM products ORDER BY price_cents, sku
