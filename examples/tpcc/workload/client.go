package workload

import (
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	_ "github.com/go-sql-driver/mysql" // the reads' MySQL protocol

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/tpcc"
)

// Client reaches an Imago serving the tpcc app: commands over HTTP/JSON,
// reads over the MySQL protocol.
type Client struct {
	HTTP    *http.Client
	BaseURL string    // http://host:port
	DB      *gosql.DB // the tpcc database over MySQL
	names   *commands.Registry
}

// NewClient returns a client of the server at httpAddr and sqlAddr for
// conns concurrent terminals.
func NewClient(httpAddr, sqlAddr string, conns int) (*Client, error) {
	db, err := gosql.Open("mysql", "root@tcp("+sqlAddr+")/tpcc?parseTime=true")
	if err != nil {
		return nil, fmt.Errorf("open mysql %s: %w", sqlAddr, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	transport := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	names, err := commands.NewRegistry(tpcc.App().Commands...)
	if err != nil {
		return nil, err
	}
	return &Client{HTTP: &http.Client{Transport: transport, Timeout: time.Minute}, BaseURL: "http://" + httpAddr, DB: db, names: names}, nil
}

// Close closes the connections.
func (c *Client) Close() error {
	c.HTTP.CloseIdleConnections()
	return c.DB.Close()
}

// RefusedError is the server's 422 refusal of a command (for New-Order, the
// rollback).
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return "refused: " + e.Message }

// Submit posts a command and decodes its result into out (if not nil).
func (c *Client) Submit(ctx context.Context, cmd commands.Command, out any) error {
	def, err := c.names.Of(cmd)
	if err != nil {
		return err
	}
	name := def.Name
	body, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/commands/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", name, err)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("%s: %s: %s", name, resp.Status, b)
	}
	switch {
	case resp.StatusCode == http.StatusUnprocessableEntity && answer.Error.Code == "refused":
		return &RefusedError{Message: answer.Error.Message}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %s: %s", name, resp.Status, b)
	case out != nil:
		return json.Unmarshal(answer.Result, out)
	}
	return nil
}

// The reads of Order-Status (clause 2.6.2.2) and Stock-Level (clause
// 2.8.2.2), prepared once per connection pool.
const (
	sqlCustomersByLast = `SELECT c_id, c_balance, c_first, c_middle, c_last FROM customer
		WHERE c_w_id = ? AND c_d_id = ? AND c_last = ? ORDER BY c_first`
	sqlCustomerByID = `SELECT c_id, c_balance, c_first, c_middle, c_last FROM customer
		WHERE c_w_id = ? AND c_d_id = ? AND c_id = ?`
	sqlLatestOrder = `SELECT o_id, o_carrier_id, o_entry_d FROM orders
		WHERE o_w_id = ? AND o_d_id = ? AND o_c_id = ? ORDER BY o_id DESC LIMIT 1`
	sqlOrderLines = `SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d FROM order_line
		WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id = ?`
	sqlNextOrder = `SELECT d_next_o_id FROM district WHERE d_w_id = ? AND d_id = ?`
	// The hints make go-mysql-server look up each order line's stock by its
	// primary key: without them it builds a hash table of the whole stock
	// (100,000 rows per warehouse) for every Stock-Level, ~1 s each on this
	// machine against ~2 ms. MySQL and MariaDB ignore hints they lack.
	sqlLowStock = `SELECT /*+ JOIN_ORDER(order_line, stock) LOOKUP_JOIN(order_line, stock) */ COUNT(DISTINCT s_i_id)
		FROM order_line JOIN stock ON s_w_id = ol_w_id AND s_i_id = ol_i_id
		WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id < ? AND ol_o_id >= ? AND s_quantity < ?`
)

// Reads are the prepared statements of the read-only transactions.
type Reads struct {
	customersByLast, customerByID, latestOrder, orderLines, nextOrder, lowStock *gosql.Stmt
}

// Prepare prepares the reads on db.
func Prepare(ctx context.Context, db *gosql.DB) (*Reads, error) {
	r := &Reads{}
	for _, p := range []struct {
		stmt **gosql.Stmt
		sql  string
	}{
		{&r.customersByLast, sqlCustomersByLast}, {&r.customerByID, sqlCustomerByID}, {&r.latestOrder, sqlLatestOrder},
		{&r.orderLines, sqlOrderLines}, {&r.nextOrder, sqlNextOrder}, {&r.lowStock, sqlLowStock},
	} {
		s, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare %s: %w", p.sql, err)
		}
		*p.stmt = s
	}
	return r, nil
}

// OrderStatus is Order-Status's output (clause 2.6.3.3).
type OrderStatus struct {
	CID       int32
	Balance   string
	First     string
	Last      string
	OID       int32
	CarrierID gosql.NullInt32
	EntryD    time.Time
	Lines     int
}

// OrderStatus runs Order-Status for a customer of district did of warehouse
// wid, by id (last empty) or by last name, in one read-only transaction (one
// snapshot).
func (r *Reads) OrderStatus(ctx context.Context, db *gosql.DB, wid, did, cid int32, last string) (*OrderStatus, error) {
	tx, err := db.BeginTx(ctx, &gosql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var out OrderStatus
	var middle string
	if last == "" {
		err = tx.StmtContext(ctx, r.customerByID).QueryRowContext(ctx, wid, did, cid).Scan(&out.CID, &out.Balance, &out.First, &middle, &out.Last)
	} else {
		err = r.middleCustomer(ctx, tx, wid, did, last, &out)
	}
	if err != nil {
		return nil, fmt.Errorf("order-status customer: %w", err)
	}
	err = tx.StmtContext(ctx, r.latestOrder).QueryRowContext(ctx, wid, did, out.CID).Scan(&out.OID, &out.CarrierID, &out.EntryD)
	if errors.Is(err, gosql.ErrNoRows) {
		return &out, tx.Commit() // a customer without orders: possible at small scales
	}
	if err != nil {
		return nil, fmt.Errorf("order-status latest order: %w", err)
	}
	rows, err := tx.StmtContext(ctx, r.orderLines).QueryContext(ctx, wid, did, out.OID)
	if err != nil {
		return nil, fmt.Errorf("order-status lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var iid, supply, qty int32
		var amount string
		var delivered gosql.NullTime
		if err := rows.Scan(&iid, &supply, &qty, &amount, &delivered); err != nil {
			return nil, err
		}
		out.Lines++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return &out, tx.Commit()
}

// middleCustomer is the customer at position n/2 rounded up of those with
// the last name, by first name (clause 2.6.2.2).
func (r *Reads) middleCustomer(ctx context.Context, tx *gosql.Tx, wid, did int32, last string, out *OrderStatus) error {
	rows, err := tx.StmtContext(ctx, r.customersByLast).QueryContext(ctx, wid, did, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	var all []OrderStatus
	for rows.Next() {
		var c OrderStatus
		var middle string
		if err := rows.Scan(&c.CID, &c.Balance, &c.First, &middle, &c.Last); err != nil {
			return err
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("no customer named %s in district %d, warehouse %d: %w", last, did, wid, gosql.ErrNoRows)
	}
	*out = all[(len(all)-1)/2]
	return nil
}

// StockLevel runs Stock-Level (clause 2.8): the number of distinct items of
// the district's last 20 orders whose stock is below threshold.
func (r *Reads) StockLevel(ctx context.Context, db *gosql.DB, wid, did, threshold int32) (int, error) {
	tx, err := db.BeginTx(ctx, &gosql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var next int32
	if err := tx.StmtContext(ctx, r.nextOrder).QueryRowContext(ctx, wid, did).Scan(&next); err != nil {
		return 0, fmt.Errorf("stock-level district: %w", err)
	}
	var low int
	if err := tx.StmtContext(ctx, r.lowStock).QueryRowContext(ctx, wid, did, next, next-20, threshold).Scan(&low); err != nil {
		return 0, fmt.Errorf("stock-level count: %w", err)
	}
	return low, tx.Commit()
}
