package sql

import (
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
)

// noObjects gives a database the schema objects MySQL schemas can hold besides
// tables (views, triggers, stored procedures, events), all empty: Imago's
// schemas are declared in Go and hold only tables. GMS's privilege layer
// requires these interfaces once users are on, and tools list them
// (information_schema.ROUTINES, SHOW TRIGGERS): empty answers let them carry on.
// Creating one is a write and is refused.
type noObjects struct{}

var (
	_ gsql.ViewDatabase            = (*database)(nil)
	_ gsql.TriggerDatabase         = (*database)(nil)
	_ gsql.StoredProcedureDatabase = (*database)(nil)
	_ gsql.EventDatabase           = (*database)(nil)
)

func (noObjects) CreateView(*gsql.Context, string, string, string) error {
	return errReadOnly("CREATE VIEW")
}
func (noObjects) DropView(*gsql.Context, string) error { return errReadOnly("DROP VIEW") }
func (noObjects) GetViewDefinition(*gsql.Context, string) (gsql.ViewDefinition, bool, error) {
	return gsql.ViewDefinition{}, false, nil
}
func (noObjects) AllViews(*gsql.Context) ([]gsql.ViewDefinition, error) { return nil, nil }

func (noObjects) GetTriggers(*gsql.Context) ([]gsql.TriggerDefinition, error) { return nil, nil }
func (noObjects) CreateTrigger(*gsql.Context, gsql.TriggerDefinition) error {
	return errReadOnly("CREATE TRIGGER")
}
func (noObjects) DropTrigger(*gsql.Context, string) error { return errReadOnly("DROP TRIGGER") }

func (noObjects) GetStoredProcedure(*gsql.Context, string) (gsql.StoredProcedureDetails, bool, error) {
	return gsql.StoredProcedureDetails{}, false, nil
}
func (noObjects) GetStoredProcedures(*gsql.Context) ([]gsql.StoredProcedureDetails, error) {
	return nil, nil
}
func (noObjects) SaveStoredProcedure(*gsql.Context, gsql.StoredProcedureDetails) error {
	return errReadOnly("CREATE PROCEDURE")
}
func (noObjects) DropStoredProcedure(*gsql.Context, string) error {
	return errReadOnly("DROP PROCEDURE")
}

func (noObjects) GetEvent(*gsql.Context, string) (gsql.EventDefinition, bool, error) {
	return gsql.EventDefinition{}, false, nil
}
func (noObjects) GetEvents(*gsql.Context) ([]gsql.EventDefinition, any, error) {
	return nil, nil, nil
}
func (noObjects) SaveEvent(*gsql.Context, gsql.EventDefinition) (bool, error) {
	return false, errReadOnly("CREATE EVENT")
}
func (noObjects) DropEvent(*gsql.Context, string) error { return errReadOnly("DROP EVENT") }
func (noObjects) UpdateEvent(*gsql.Context, string, gsql.EventDefinition) (bool, error) {
	return false, errReadOnly("ALTER EVENT")
}
func (noObjects) UpdateLastExecuted(*gsql.Context, string, time.Time) error { return nil }
func (noObjects) NeedsToReloadEvents(*gsql.Context, any) (bool, error)      { return false, nil }
