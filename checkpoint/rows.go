package checkpoint

import (
	"fmt"

	"github.com/imagodb/imago/memdb"
)

// Row encoding, per column in order: nullable columns start with a presence
// byte (0 NULL, 1 a value); then the value in memdb's binary form
// (memdb.AppendValue).

func appendRow(dst []byte, cols []memdb.Column, row memdb.Row) ([]byte, error) {
	for i, c := range cols {
		v := row[i]
		if c.Nullable {
			if v == nil {
				dst = append(dst, 0)
				continue
			}
			dst = append(dst, 1)
		}
		var err error
		if dst, err = memdb.AppendValue(dst, c.Type.Kind, v); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return dst, nil
}

// readRow decodes one row of cols.
func readRow(r *memdb.ValueReader, cols []memdb.Column) (memdb.Row, error) {
	row := make(memdb.Row, len(cols))
	for i, c := range cols {
		if c.Nullable {
			present, err := r.Byte()
			if err != nil {
				return nil, err
			}
			if present == 0 {
				continue
			}
			if present != 1 {
				return nil, fmt.Errorf("column %s: presence byte %d", c.Name, present)
			}
		}
		v, err := r.Value(c.Type.Kind)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		row[i] = v
	}
	return row, nil
}
