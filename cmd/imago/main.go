// Command imago runs Imago with its built-in apps: `imago serve` serves an
// application (the demo shop by default) with the HTTP write API and the
// read-only MySQL server; `imago log`, `imago checkpoint` work on a data
// directory; `imago demo load` fills a running shop with demo data.
package main

import (
	"github.com/spf13/cobra"

	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/demo"
	"github.com/imagodb/imago/examples/shopanalytics"
)

func main() {
	cli.MainWith([]*cobra.Command{demo.Command()}, shop.App(), dictionary.App(), shopanalytics.App())
}
