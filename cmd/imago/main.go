// Command imago runs Imago: `imago serve` serves an application (the demo
// shop by default) with the HTTP write API and the read-only MySQL server.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
)

// apps are the applications this binary can serve, by --app name.
var apps = map[string]func() *imago.App{
	"shop":       shop.App,
	"dictionary": dictionary.App,
	"sbtest":     sbtest.App, // the sysbench comparison (bench/)
}

func main() {
	root := &cobra.Command{
		Use:           "imago",
		Short:         "Imago, a memory-image database: commands in, SQL out",
		Version:       imago.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), logCommand(), checkpointCommand(), demoCommand())
	if err := root.Execute(); err != nil {
		if !errors.As(err, new(loggedError)) {
			fmt.Fprintln(os.Stderr, "imago:", err)
		}
		os.Exit(1)
	}
}

// bindEnv gives every flag of cmd a default from IMAGO_<FLAG> (upper case,
// dashes as underscores), used where the flag is not given on the command line.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		env := "IMAGO_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !f.Changed && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

func appNames() string {
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
