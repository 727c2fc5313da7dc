package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

// importBatch is the number of commands per POST /v1/admin/import: each is
// applied and logged in one batch (about 1,000 commands a millisecond of
// apply here, and one fsync).
const importBatch = 1000

// importItem is an item of POST /v1/admin/import.
type importItem struct {
	Name    string           `json:"name"`
	Time    time.Time        `json:"time"`
	Payload commands.Command `json:"payload"`
}

// commandName is the shop's name of cmd.
func commandName(cmd commands.Command) string {
	switch cmd.(type) {
	case *shop.AddProduct:
		return "add_product"
	case *shop.RegisterCustomer:
		return "register_customer"
	case *shop.PlaceOrder:
		return "place_order"
	case *shop.PayOrder:
		return "pay_order"
	case *shop.ShipOrder:
		return "ship_order"
	case *shop.CancelOrder:
		return "cancel_order"
	case *shop.Restock:
		return "restock"
	}
	panic(fmt.Sprintf("demo: a plan holds no %T", cmd))
}

// loadHistory imports the plan's timeline through POST /v1/admin/import,
// importBatch commands a request, in order.
func (l *loader) loadHistory(plan *Plan) error {
	batch := make([]importItem, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.importItems(batch)
		if err == nil {
			l.sent.Add(int64(len(batch)))
			l.progress.add(len(batch))
		}
		batch = batch[:0]
		return err
	}
	for cmd, at := range plan.Timeline() {
		name := commandName(cmd)
		switch name {
		case "restock":
			l.restocks.Add(1)
			l.progress.grow(1)
		case "pay_order":
			l.paid.Add(1)
		case "ship_order":
			l.shipped.Add(1)
		case "cancel_order":
			l.cancelled.Add(1)
		}
		if batch = append(batch, importItem{Name: name, Time: at, Payload: cmd}); len(batch) == importBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// importItems posts one import request.
func (l *loader) importItems(items []importItem) error {
	resp, err := l.post(l.importURL, items)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if body.Error.Code == "time_out_of_order" && l.sent.Load() == 0 {
		return fmt.Errorf("%s\nthe server's log already holds commands after the history's start (%s): a history is imported before anything else. "+
			"Load it into a new data directory (imago serve --data ./demo-data), or with --period 0 (every command now, through the write API)",
			body.Error.Message, items[0].Time.Format(time.RFC3339))
	}
	return fmt.Errorf("import: %d %s: %s", resp.StatusCode, body.Error.Code, body.Error.Message)
}
