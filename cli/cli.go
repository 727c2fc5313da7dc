// Package cli is Imago's command line for a program's apps: serve, and the
// log and checkpoint tools. A program with an app of its own gets the whole
// command line from one call in its main:
//
//	func main() { cli.Main(myapp.App()) }
//
// The imago binary is the same call with the built-in apps.
//
// Guarantees:
//   - Every flag can also be set as IMAGO_<FLAG> (upper case, dashes as
//     underscores); a flag given on the command line wins.
//   - An error is printed once, prefixed once, and exits with status 1.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imagodb/imago"
)

// Main runs the command line over apps (the first is the default of --app)
// and exits.
func Main(apps ...*imago.App) { MainWith(nil, apps...) }

// MainWith is Main with more commands (the imago binary's demo).
func MainWith(extra []*cobra.Command, apps ...*imago.App) {
	root := Root(apps...)
	root.AddCommand(extra...)
	os.Exit(Execute(root))
}

// Root is the command line over apps, to run with Execute.
func Root(apps ...*imago.App) *cobra.Command {
	if len(apps) == 0 {
		panic("cli: no app") // a programming error in main, not input
	}
	set := appSet(apps)
	root := &cobra.Command{
		Use:           "imago",
		Short:         "Imago, a memory-image database: commands in, SQL out",
		Version:       imago.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(set), replicaCommand(set), logCommand(set), checkpointCommand(set), replayCommand(set), diffCommand())
	return root
}

// Execute runs root and returns the exit status, having printed the error.
func Execute(root *cobra.Command) int {
	if err := root.Execute(); err != nil {
		if !errors.As(err, new(loggedError)) {
			// Errors of the imago package already begin with its name.
			fmt.Fprintln(os.Stderr, "imago: "+strings.TrimPrefix(err.Error(), "imago: "))
		}
		return 1
	}
	return 0
}

// apps are the applications a program serves, by name; the first is the
// default.
type apps struct {
	list []*imago.App
}

func appSet(list []*imago.App) *apps { return &apps{list: list} }

func (a *apps) byName(name string) (*imago.App, error) {
	for _, app := range a.list {
		if app.Name == name {
			return app, nil
		}
	}
	return nil, fmt.Errorf("--app %q: no such application; choose one of %s", name, a.names())
}

func (a *apps) names() string {
	names := make([]string, len(a.list))
	for i, app := range a.list {
		names[i] = app.Name
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// appFlag adds --app to fs.
func (a *apps) appFlag(fs *pflag.FlagSet, name *string) {
	fs.StringVar(name, "app", a.list[0].Name, "application: "+a.names())
}

// loggedError is an error already written to the log: Execute exits with
// status 1 without printing it again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// BindEnv gives every flag of cmd a default from IMAGO_<FLAG> (upper case,
// dashes as underscores), used where the flag is not given on the command line.
func BindEnv(cmd *cobra.Command) error {
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

// goFlags declares an app's own flags (imago.App.Flags) on a pflag set.
func goFlags(fs *pflag.FlagSet, declare func(*flag.FlagSet)) {
	gfs := flag.NewFlagSet("", flag.ContinueOnError)
	declare(gfs)
	fs.AddGoFlagSet(gfs)
}
