package imago

import (
	"fmt"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/migrations"
)

// Chain is the app's upcasters (App.Upcasters) checked against its
// commands: what every reader of its log upcasts with.
func (a *App) Chain() (*migrations.Chain, error) {
	registry, err := commands.NewRegistry(a.Commands...)
	if err != nil {
		return nil, fmt.Errorf("imago: app %s: %w", a.Name, err)
	}
	return a.chain(registry)
}

func (a *App) chain(registry *commands.Registry) (*migrations.Chain, error) {
	c, err := migrations.NewChain(registry, a.Upcasters)
	if err != nil {
		return nil, fmt.Errorf("imago: app %s: %w", a.Name, err)
	}
	return c, nil
}

// upcaster is c as the log's upcaster: nil when the app declares none, so
// that a log of current entries pays nothing.
func (a *App) upcaster(c *migrations.Chain) envelope.Upcaster {
	if len(a.Upcasters) == 0 {
		return nil
	}
	return c
}

// EnvelopeLog reads values (the app's command log) through the app's
// upcasters: the decode step every reader of the app's log shares (the
// database, its recovery and verification, the offline tools).
func (a *App) EnvelopeLog(values envelope.Values) (*envelope.Log, error) {
	c, err := a.Chain()
	if err != nil {
		return nil, err
	}
	return envelope.NewLog(values).WithUpcaster(a.upcaster(c)), nil
}
