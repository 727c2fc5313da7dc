package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/imagodb/imago/commands"
)

// dryRunParam reads ?dry_run=; an unknown value is an error naming it.
func dryRunParam(r *http.Request) (bool, error) {
	if r.URL.RawQuery == "" { // the write path's case: no query to parse
		return false, nil
	}
	v := r.URL.Query().Get("dry_run")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parameter dry_run=%q: want true or false", v)
	}
	return b, nil
}

// rowChange is one row a dry run would change.
type rowChange struct {
	Table  string         `json:"table"`
	Key    map[string]any `json:"key"`
	Before map[string]any `json:"before"` // null: the row would be inserted
	After  map[string]any `json:"after"`  // null: the row would be deleted
}

// dryRun answers POST /v1/commands/{name}?dry_run=true: the result and the
// row changes the command would make, from a private fork of the image.
// Nothing is logged or changed.
func (h *handler) dryRun(w http.ResponseWriter, cmd commands.Command, meta commands.Meta) {
	res, changes, err := h.db.DryRun(cmd, meta)
	if err != nil {
		status, code, msg := classify(err)
		writeError(w, status, code, msg)
		return
	}
	out := make([]rowChange, len(changes))
	for i, c := range changes {
		some := c.After
		if some == nil {
			some = c.Before
		}
		key := map[string]any{}
		for _, p := range c.Table.Primary().Columns() {
			key[c.Table.Columns()[p].Name] = some[p]
		}
		out[i] = rowChange{Table: c.Table.Name(), Key: key, Before: c.Table.Object(c.Before), After: c.Table.Object(c.After)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "seq": res.Seq, "result": res.Value, "changes": out})
}
