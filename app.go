package imago

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/migrations"
	"github.com/imagodb/imago/reactors"
	"github.com/imagodb/imago/wal"
)

// App declares an application: its name (the SQL database name), its tables
// and its commands.
type App struct {
	Name string
	// ProjectionVersion is bumped when Apply functions change what they do
	// with the same commands, so state derived from the log is rebuilt.
	ProjectionVersion int
	Tables            []*memdb.Table
	Commands          []commands.Definition
	// Upcasters bring logged entries of older versions (and of renamed or
	// retired commands) to the current definitions (package migrations).
	// Open refuses a log holding a (command, version) with no path to a
	// current definition.
	Upcasters []migrations.Upcaster
	// AuditFields declares, per command name, the payload fields the log
	// is indexed by besides the actor (e.g. place_order: customer_id,
	// order_id): imago.commands shows each as a column, and a lookup of
	// one value reads only the entries holding it. Changing it indexes
	// the log anew, in the background. A field may not be named actor.
	AuditFields map[string][]string
	// Flags, if set, declares the app's own command-line flags for serve
	// (package cli) on fs, and returns the function that builds the app's
	// reactors from them once they are parsed; it refuses a bad value
	// naming its flag.
	Flags func(fs *flag.FlagSet) (reactors func() ([]reactors.Reactor, error))
}

// imageTables are the tables of the app's image: its own, then Imago's
// (the idempotency keys), which checkpoints and replay keep alike.
func (a *App) imageTables() []*memdb.Table {
	return append(slices.Clip(a.Tables), applier.IdempotencyKeys)
}

// newImage is an empty image of the app.
func (a *App) newImage() (*memdb.Image, error) { return memdb.NewImage(a.imageTables()...) }

// Fingerprint identifies the projection: the app's name and declared
// ProjectionVersion, the declaration of every table of its image, the app's
// and Imago's own (columns with their types and NULL-ability, primary key,
// indexes) and every command's name and version. A
// checkpoint is loaded only by code with the same fingerprint; any change
// rebuilds the image from the log instead.
func (a *App) Fingerprint() [32]byte {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	number := func(n int) { h.Write(binary.AppendVarint(nil, int64(n))) }
	field("imago projection v1")
	field(a.Name)
	number(a.ProjectionVersion)
	number(len(a.imageTables()))
	for _, t := range a.imageTables() {
		field(t.Name())
		number(len(t.Columns()))
		for _, c := range t.Columns() {
			field(c.Name)
			field(c.Type.String())
			field(fmt.Sprint(c.Nullable))
		}
		for _, ix := range append([]*memdb.Index{t.Primary()}, t.Indexes()...) {
			field(ix.Name)
			field(fmt.Sprint(ix.Unique, ix.Primary, ix.ColumnNames()))
		}
	}
	cmds := make([]string, 0, len(a.Commands))
	for _, d := range a.Commands {
		cmds = append(cmds, fmt.Sprintf("%s@%d", d.Name, d.Version))
	}
	sort.Strings(cmds)
	number(len(cmds))
	for _, c := range cmds {
		field(c)
	}
	// Upcasters change what old entries replay as (none: no change to
	// the fingerprints of apps from before them).
	if c, err := a.Chain(); err == nil && len(a.Upcasters) > 0 {
		ups := c.Describe()
		number(len(ups))
		for _, u := range ups {
			field(u)
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// NewImage is an empty image of the app: its tables and Imago's own.
func (a *App) NewImage() (*memdb.Image, error) { return a.newImage() }

// check validates the declaration and returns the registry of its commands.
func (a *App) check() (*commands.Registry, error) {
	if a == nil || a.Name == "" {
		return nil, fmt.Errorf("imago: the app needs a name")
	}
	registry, err := commands.NewRegistry(a.Commands...)
	if err != nil {
		return nil, fmt.Errorf("imago: app %s: %w", a.Name, err)
	}
	if _, err := a.newImage(); err != nil { // also: no app table is named like Imago's
		return nil, fmt.Errorf("imago: app %s: %w", a.Name, err)
	}
	if _, err := a.chain(registry); err != nil {
		return nil, err
	}
	return registry, nil
}

// LogDir is where a data directory keeps its command log.
func LogDir(dataDir string) string { return filepath.Join(dataDir, "log") }

// appFile records, in a data directory, the app whose log it holds.
const appFile = "APP"

// OtherAppError is a data directory that belongs to another app than the
// one opening it: its log holds commands the app does not know.
type OtherAppError struct {
	Dir      string
	Recorded string // the directory's app
	App      string // the app that tried to open it
}

func (e *OtherAppError) Error() string {
	return fmt.Sprintf("data directory %s belongs to app %s, not to app %s: its log holds %s's commands; give app %s a data directory of its own (--data DIR), or serve --app %s",
		e.Dir, e.Recorded, e.App, e.Recorded, e.App, e.Recorded)
}

// CheckDataDir tells whether dir may be opened by app, changing nothing: it
// does not exist yet, it records app as its own, or (a directory from
// before the record) it records no app. Servers and tools check it before
// they create or open anything.
func CheckDataDir(dir string, app *App) error {
	b, err := os.ReadFile(filepath.Join(dir, appFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("imago: %w", err)
	}
	if recorded := strings.TrimSpace(string(b)); recorded != app.Name {
		return &OtherAppError{Dir: dir, Recorded: recorded, App: app.Name}
	}
	return nil
}

// claimDataDir creates dir if missing and records app as its own. A
// directory from before the record is claimed only if the first command
// of its log is one of app's.
func claimDataDir(dir string, app *App, registry *commands.Registry) error {
	if err := CheckDataDir(dir, app); err != nil {
		return err
	}
	path := filepath.Join(dir, appFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := checkFirstCommand(dir, app, registry); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("imago: %w", err)
	}
	if err := os.WriteFile(path, []byte(app.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("imago: record the app of %s: %w", dir, err)
	}
	return nil
}

// checkFirstCommand refuses a data directory without a recorded app whose
// log begins with a command app does not define: another app wrote it.
func checkFirstCommand(dir string, app *App, registry *commands.Registry) error {
	if _, err := os.Stat(LogDir(dir)); err != nil {
		return nil // no log: a new directory
	}
	log, err := wal.Open(LogDir(dir), wal.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("imago: %w", err)
	}
	defer log.Close()
	chain, err := app.chain(registry)
	if err != nil {
		return err
	}
	var first string
	err = envelope.NewLog(log).WithUpcaster(chain).ReadAll(log.FirstSeq(), log.FirstSeq(), func(env envelope.Envelope) error {
		if env.Retired == "" { // a retired command is one the app knew
			first = env.Name
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("imago: %w", err)
	}
	if _, ok := registry.Lookup(first); first != "" && !ok {
		return fmt.Errorf("data directory %s records no app, and its log begins with command %s, which app %s does not define: another app wrote it; give app %s a data directory of its own (--data DIR)",
			dir, first, app.Name, app.Name)
	}
	return nil
}

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
