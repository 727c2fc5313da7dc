package shop

import (
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/imagodb/imago/reactors"
)

// flags declares the shop's own serve flags, which turn its reactors on,
// and returns what builds the reactors from them (imago.App.Flags).
func flags(fs *flag.FlagSet) func() ([]reactors.Reactor, error) {
	webhookURL := fs.String("webhook-url", "", "shop: POST a JSON notification to this URL when an order is paid or shipped (retried until it answers 2xx)")
	reorderBelow := fs.Int64("reorder-below", 0, "shop: submit a restock (back to twice N) for a product whose stock falls below N after an order (0: off)")
	return func() ([]reactors.Reactor, error) {
		var list []reactors.Reactor
		if *webhookURL != "" {
			if err := CheckWebhookURL(*webhookURL); err != nil {
				return nil, fmt.Errorf("--webhook-url: %w", err)
			}
			list = append(list, WebhookReactor(*webhookURL, &http.Client{Timeout: 10 * time.Second}))
		}
		if *reorderBelow < 0 {
			return nil, fmt.Errorf("--reorder-below %d: want a stock level of at least 1 (0: off)", *reorderBelow)
		}
		if *reorderBelow > 0 {
			list = append(list, ReorderReactor(*reorderBelow))
		}
		return list, nil
	}
}
