// Command notes is a complete Imago application in a module of its own:
// one table, two commands, and Imago's whole command line from cli.Main.
//
//	go run . serve --data ./notes-data
//	curl -s -X POST localhost:8080/v1/commands/add_note -H 'Content-Type: application/json' \
//	  -d '{"id":"n1","text":"buy milk"}'
//	mysql -h 127.0.0.1 -P 3306 -u root notes -e "SELECT * FROM notes"
package main

import (
	"errors"
	"fmt"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Note is a row of the notes table.
type Note struct {
	ID      string `imago:"id"`
	Text    string `imago:"text"`
	Done    bool   `imago:"done"`
	Created string `imago:"created_by"`
}

// Notes is the app's table.
var Notes = memdb.MustBind[Note](memdb.MustDefine(memdb.TableDef{
	Name: "notes",
	Columns: []memdb.Column{
		{Name: "id", Type: memdb.Varchar(64)},
		{Name: "text", Type: memdb.Text},
		{Name: "done", Type: memdb.Boolean},
		{Name: "created_by", Type: memdb.Varchar(64)},
	},
	PrimaryKey: []string{"id"},
}))

// AddNote adds a note.
type AddNote struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Validate implements commands.Command: checks without state.
func (c *AddNote) Validate() error {
	if c.ID == "" || c.Text == "" {
		return errors.New("id and text are required")
	}
	return nil
}

// Apply implements commands.Command: deterministic, its only inputs are
// the transaction, the command and the envelope.
func (c *AddNote) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, found, err := Notes.Get(tx, c.ID); err != nil || found {
		return nil, errors.Join(err, fmt.Errorf("note %s exists", c.ID))
	}
	return nil, Notes.Insert(tx, Note{ID: c.ID, Text: c.Text, Created: env.Actor})
}

// FinishNote marks a note done.
type FinishNote struct {
	ID string `json:"id"`
}

// Validate implements commands.Command.
func (c *FinishNote) Validate() error {
	if c.ID == "" {
		return errors.New("id is required")
	}
	return nil
}

// Apply implements commands.Command.
func (c *FinishNote) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	n, found, err := Notes.Get(tx, c.ID)
	if err != nil || !found {
		return nil, errors.Join(err, fmt.Errorf("no note %s", c.ID))
	}
	n.Done = true
	return nil, Notes.Update(tx, n)
}

// App is the notes application (SQL database "notes").
func App() *imago.App {
	return &imago.App{
		Name:              "notes",
		ProjectionVersion: 1,
		Tables:            []*memdb.Table{Notes.Table()},
		Commands: []commands.Definition{
			commands.Define[AddNote]("add_note", 1),
			commands.Define[FinishNote]("finish_note", 1),
		},
	}
}

func main() { cli.Main(App()) }
