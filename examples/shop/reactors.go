package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/imagodb/imago/reactors"
)

// The shop's reactors: side effects of its commands, run by Imago after
// they are durable (see reactors.Reactor), off unless the server is asked.

// Notification is the JSON body the webhook reactor posts.
type Notification struct {
	// Event is "order_paid" or "order_shipped".
	Event   string `json:"event"`
	OrderID string `json:"order_id"`
	// CustomerID and TotalCents are the order's, as the image held them
	// when the notification was sent.
	CustomerID string    `json:"customer_id,omitempty"`
	TotalCents int64     `json:"total_cents"`
	Seq        uint64    `json:"seq"` // the command's
	Command    string    `json:"command"`
	Actor      string    `json:"actor"`
	Time       time.Time `json:"time"` // the command's
	// Delivery is the same on every attempt and redelivery of this
	// notification (also sent as the Idempotency-Key header): the receiver
	// drops a repeat with it.
	Delivery string `json:"delivery"`
}

// CheckWebhookURL tells whether u can be a webhook's address: absolute,
// http or https.
func CheckWebhookURL(u string) error {
	parsed, err := url.Parse(u)
	if err != nil {
		return err
	}
	if (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("%q: want an absolute http:// or https:// URL", u)
	}
	return nil
}

// WebhookReactor posts a Notification to target when an order is paid or
// shipped. A network error or a status other than 2xx fails the reaction,
// which Imago retries with backoff; the receiver gets each notification at
// least once, identified by its Delivery.
func WebhookReactor(target string, client *http.Client) reactors.Reactor {
	events := map[string]string{"pay_order": "order_paid", "ship_order": "order_shipped"}
	return reactors.Reactor{
		Name:     "webhook",
		Commands: []string{"pay_order", "ship_order"},
		React: func(ctx context.Context, d *reactors.Delivery) error {
			n := Notification{Event: events[d.Envelope.Name], Seq: d.Envelope.Seq, Command: d.Envelope.Name,
				Actor: d.Envelope.Actor, Time: d.Envelope.Time, Delivery: d.Key()}
			switch c := d.Command.(type) {
			case *PayOrder:
				n.OrderID = c.OrderID
			case *ShipOrder:
				n.OrderID = c.OrderID
			}
			if o, found, err := Orders.Get(d.View().Snapshot, n.OrderID); err == nil && found {
				n.CustomerID, n.TotalCents = o.CustomerID, o.TotalCents
			}
			return post(ctx, client, target, n)
		},
	}
}

func post(ctx context.Context, client *http.Client, target string, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", n.Delivery)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: POST %s answered %s", target, resp.Status)
	}
	return nil
}

// ReorderReactor submits a restock, bringing the stock back to twice
// below, for each product of a placed order whose stock is then below
// below. It reads the stock in the published image, which the restocks it
// submitted before are in (a reactor's commands are durable before its next
// delivery), so a run of orders triggers one restock, not one per order.
func ReorderReactor(below int64) reactors.Reactor {
	return reactors.Reactor{
		Name:     "reorder",
		Commands: []string{"place_order"},
		React: func(ctx context.Context, d *reactors.Delivery) error {
			seen := map[string]bool{}
			for _, l := range d.Command.(*PlaceOrder).Lines {
				if seen[l.SKU] {
					continue
				}
				seen[l.SKU] = true
				p, found, err := Products.Get(d.View().Snapshot, l.SKU)
				if err != nil {
					return err
				}
				if !found || p.Stock >= below {
					continue
				}
				// Keyed by SKU: a redelivery that finds one product restocked
				// already must not shift the keys of the others.
				if _, err := d.SubmitAs(ctx, l.SKU, &Restock{SKU: l.SKU, Quantity: 2*below - p.Stock}); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
