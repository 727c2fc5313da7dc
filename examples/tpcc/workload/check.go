package workload

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// A condition is one of the specification's consistency conditions (clause
// 3.3.2): two per-key figures read by SQL that must be equal for every key
// either has. Keys are the leading columns; the figure is the last. Every
// query reads every row it needs from one engine: the same checks hold for
// Imago and for MariaDB.
type condition struct {
	number      string
	what        string
	left, right string
}

// conditions are clause 3.3.2's conditions 1 to 10 and 12 (11 holds only
// until the first Delivery).
var conditions = []condition{
	{"1", "W_YTD = sum(D_YTD)",
		`SELECT w_id, w_ytd FROM warehouse`,
		`SELECT d_w_id, SUM(d_ytd) FROM district GROUP BY d_w_id`},
	{"2", "D_NEXT_O_ID - 1 = max(O_ID)",
		`SELECT d_w_id, d_id, d_next_o_id - 1 FROM district`,
		`SELECT o_w_id, o_d_id, MAX(o_id) FROM orders GROUP BY o_w_id, o_d_id`},
	{"2", "D_NEXT_O_ID - 1 = max(NO_O_ID)",
		`SELECT d_w_id, d_id, d_next_o_id - 1 FROM district WHERE EXISTS (SELECT 1 FROM new_order WHERE no_w_id = d_w_id AND no_d_id = d_id)`,
		`SELECT no_w_id, no_d_id, MAX(no_o_id) FROM new_order GROUP BY no_w_id, no_d_id`},
	{"3", "max(NO_O_ID) - min(NO_O_ID) + 1 = rows in NEW-ORDER",
		`SELECT no_w_id, no_d_id, MAX(no_o_id) - MIN(no_o_id) + 1 FROM new_order GROUP BY no_w_id, no_d_id`,
		`SELECT no_w_id, no_d_id, COUNT(*) FROM new_order GROUP BY no_w_id, no_d_id`},
	{"4", "sum(O_OL_CNT) = rows in ORDER-LINE",
		`SELECT o_w_id, o_d_id, SUM(o_ol_cnt) FROM orders GROUP BY o_w_id, o_d_id`,
		`SELECT ol_w_id, ol_d_id, COUNT(*) FROM order_line GROUP BY ol_w_id, ol_d_id`},
	{"5", "O_CARRIER_ID is null exactly for the orders in NEW-ORDER",
		`SELECT o_w_id, o_d_id, o_id, 1 FROM orders WHERE o_carrier_id IS NULL`,
		`SELECT no_w_id, no_d_id, no_o_id, 1 FROM new_order`},
	{"6", "O_OL_CNT = the order's rows in ORDER-LINE",
		`SELECT o_w_id, o_d_id, o_id, o_ol_cnt FROM orders`,
		`SELECT ol_w_id, ol_d_id, ol_o_id, COUNT(*) FROM order_line GROUP BY ol_w_id, ol_d_id, ol_o_id`},
	{"7", "OL_DELIVERY_D is null exactly when O_CARRIER_ID is",
		`SELECT ol_w_id, ol_d_id, ol_o_id, COUNT(*) FROM order_line WHERE ol_delivery_d IS NULL GROUP BY ol_w_id, ol_d_id, ol_o_id`,
		`SELECT o_w_id, o_d_id, o_id, o_ol_cnt FROM orders WHERE o_carrier_id IS NULL`},
	{"8", "W_YTD = sum(H_AMOUNT)",
		`SELECT w_id, w_ytd FROM warehouse`,
		`SELECT h_w_id, SUM(h_amount) FROM history GROUP BY h_w_id`},
	{"9", "D_YTD = sum(H_AMOUNT)",
		`SELECT d_w_id, d_id, d_ytd FROM district`,
		`SELECT h_w_id, h_d_id, SUM(h_amount) FROM history GROUP BY h_w_id, h_d_id`},
	{"10", "C_BALANCE = sum(delivered OL_AMOUNT) - sum(H_AMOUNT)",
		`SELECT c_w_id, c_d_id, c_id, c_balance FROM customer`,
		`SELECT w, d, c, SUM(amount) FROM (
			SELECT o_w_id AS w, o_d_id AS d, o_c_id AS c, ol_amount AS amount FROM orders
				JOIN order_line ON ol_w_id = o_w_id AND ol_d_id = o_d_id AND ol_o_id = o_id WHERE ol_delivery_d IS NOT NULL
			UNION ALL
			SELECT h_c_w_id, h_c_d_id, h_c_id, -h_amount FROM history) AS t GROUP BY w, d, c`},
	{"12", "C_BALANCE + C_YTD_PAYMENT = sum(delivered OL_AMOUNT)",
		`SELECT c_w_id, c_d_id, c_id, c_balance + c_ytd_payment FROM customer WHERE c_balance + c_ytd_payment <> 0`,
		`SELECT o_w_id, o_d_id, o_c_id, SUM(ol_amount) FROM orders
			JOIN order_line ON ol_w_id = o_w_id AND ol_d_id = o_d_id AND ol_o_id = o_id
			WHERE ol_delivery_d IS NOT NULL GROUP BY o_w_id, o_d_id, o_c_id HAVING SUM(ol_amount) <> 0`},
}

// Check verifies the consistency conditions on db, returning an error per
// condition that does not hold, with up to five of its differing keys.
func Check(ctx context.Context, db *gosql.DB) error {
	var errs []error
	for _, c := range conditions {
		left, err := figures(ctx, db, c.left)
		if err != nil {
			return fmt.Errorf("condition %s: %w", c.number, err)
		}
		right, err := figures(ctx, db, c.right)
		if err != nil {
			return fmt.Errorf("condition %s: %w", c.number, err)
		}
		if diff := differences(left, right); len(diff) > 0 {
			errs = append(errs, fmt.Errorf("condition %s (%s) fails at %d keys: %s", c.number, c.what, len(diff), strings.Join(diff[:min(5, len(diff))], "; ")))
		}
	}
	return errors.Join(errs...)
}

// figures runs a query whose last column is a number and the others a key.
func figures(ctx context.Context, db *gosql.DB, query string) (map[string]decimal.Decimal, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]decimal.Decimal{}
	vals := make([]gosql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		key := make([]string, len(cols)-1)
		for i := range key {
			key[i] = vals[i].String
		}
		v, err := decimal.NewFromString(vals[len(cols)-1].String)
		if err != nil {
			return nil, fmt.Errorf("%s: value %q: %w", query, vals[len(cols)-1].String, err)
		}
		out[strings.Join(key, ",")] = v
	}
	return out, rows.Err()
}

// differences lists the keys whose figures differ or are on one side only.
func differences(left, right map[string]decimal.Decimal) []string {
	var diff []string
	for k, l := range left {
		if r, ok := right[k]; !ok || !l.Equal(r) {
			diff = append(diff, fmt.Sprintf("(%s) %s against %s", k, l, orMissing(r, ok)))
		}
	}
	for k, r := range right {
		if _, ok := left[k]; !ok {
			diff = append(diff, fmt.Sprintf("(%s) missing against %s", k, r))
		}
	}
	return diff
}

func orMissing(d decimal.Decimal, ok bool) string {
	if !ok {
		return "missing"
	}
	return d.String()
}
