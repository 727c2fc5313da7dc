package memdb

import (
	"fmt"
	"reflect"
)

// Typed maps a Go struct type to a table's rows, so that command code reads
// and writes typed values. Each column must have exactly one struct field
// tagged `imago:"column_name"` whose type is the column kind's Go type
// (int64, uint64, int32, float64, decimal.Decimal, string, []byte, time.Time),
// bool for BOOLEAN, or a pointer to one of those for a nullable column.
type Typed[T any] struct {
	table  *Table
	fields []int // struct field index of each column, in column order
}

// Bind checks that T fits t and returns the mapping.
func Bind[T any](t *Table) (*Typed[T], error) {
	st := reflect.TypeFor[T]()
	if st.Kind() != reflect.Struct {
		return nil, fmt.Errorf("memdb: bind %s to table %s: not a struct", st, t.Name())
	}
	b := &Typed[T]{table: t, fields: make([]int, len(t.def.Columns))}
	for i := range b.fields {
		b.fields[i] = -1
	}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name, ok := f.Tag.Lookup("imago")
		if !ok || name == "-" {
			continue
		}
		p, ok := t.colPos[name]
		if !ok {
			return nil, fmt.Errorf("memdb: bind %s.%s: table %s has no column %q", st, f.Name, t.Name(), name)
		}
		if b.fields[p] >= 0 {
			return nil, fmt.Errorf("memdb: bind %s: two fields for column %s.%s", st, t.Name(), name)
		}
		c := t.def.Columns[p]
		info := c.Type.Kind.info()
		want := info.value
		if info.field != nil {
			want = info.field
		}
		if c.Nullable {
			want = reflect.PointerTo(want)
		}
		if f.Type != want {
			return nil, fmt.Errorf("memdb: bind %s.%s: column %s.%s is %s (nullable %v), field type must be %s, not %s",
				st, f.Name, t.Name(), name, c.Type, c.Nullable, want, f.Type)
		}
		b.fields[p] = i
	}
	for p, fi := range b.fields {
		if fi < 0 {
			return nil, fmt.Errorf("memdb: bind %s: no field tagged imago:%q for column %s.%s", st, t.def.Columns[p].Name, t.Name(), t.def.Columns[p].Name)
		}
	}
	return b, nil
}

// MustBind is Bind for package-level declarations.
func MustBind[T any](t *Table) *Typed[T] {
	b, err := Bind[T](t)
	if err != nil {
		panic(err)
	}
	return b
}

// Table is the bound table.
func (b *Typed[T]) Table() *Table { return b.table }

// Row converts a value to a new row.
func (b *Typed[T]) Row(v *T) Row {
	sv := reflect.ValueOf(v).Elem()
	row := make(Row, len(b.fields))
	for p, fi := range b.fields {
		f := sv.Field(fi)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.Bool {
			row[p] = boolValue(f.Bool())
			continue
		}
		if f.Kind() == reflect.Slice { // []byte: copy, rows are immutable
			row[p] = append([]byte(nil), f.Bytes()...)
			continue
		}
		row[p] = f.Interface()
	}
	return row
}

func boolValue(b bool) int8 {
	if b {
		return 1
	}
	return 0
}

// Value converts a row to a value.
func (b *Typed[T]) Value(row Row) T {
	var v T
	sv := reflect.ValueOf(&v).Elem()
	for p, fi := range b.fields {
		if row[p] == nil {
			continue
		}
		f := sv.Field(fi)
		if f.Kind() == reflect.Pointer {
			f.Set(reflect.New(f.Type().Elem()))
			f = f.Elem()
		}
		switch x := row[p].(type) {
		case int8:
			f.SetBool(x != 0)
		case []byte:
			f.SetBytes(append([]byte(nil), x...))
		default:
			f.Set(reflect.ValueOf(x))
		}
	}
	return v
}

// Reader is what both a Snapshot and a Txn offer for reading.
type Reader interface {
	Get(t *Table, pk ...any) (Row, bool, error)
	First(ix *Index, vals ...any) (Row, bool, error)
	Prefix(ix *Index, vals ...any) (*Iterator, error)
	Scan(ix *Index, from []byte) (*Iterator, error)
	Count(t *Table) int64
}

var (
	_ Reader = (*Snapshot)(nil)
	_ Reader = (*Txn)(nil)
)

// Get reads the row with primary key pk.
func (b *Typed[T]) Get(r Reader, pk ...any) (T, bool, error) {
	row, found, err := r.Get(b.table, pk...)
	if err != nil || !found {
		var zero T
		return zero, found, err
	}
	return b.Value(row), true, nil
}

// First reads the first row whose leading columns of index ix equal vals.
func (b *Typed[T]) First(r Reader, ix *Index, vals ...any) (T, bool, error) {
	row, found, err := r.First(ix, vals...)
	if err != nil || !found {
		var zero T
		return zero, found, err
	}
	return b.Value(row), true, nil
}

// Insert adds v as a new row.
func (b *Typed[T]) Insert(tx *Txn, v T) error { return tx.Insert(b.table, b.Row(&v)) }

// Update replaces the row with v's primary key.
func (b *Typed[T]) Update(tx *Txn, v T) error { return tx.Update(b.table, b.Row(&v)) }
