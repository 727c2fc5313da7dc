// Package memdb holds the image: every table of an application, in memory, in
// go-memdb. Tables are declared in Go (columns with SQL types, a primary key of
// one or more columns, unique and non-unique secondary indexes). Rows are
// immutable []any values holding the Go types go-mysql-server uses for the
// column types, so SQL reads hand them over without conversion.
//
// Guarantees:
//   - A Txn is the only way to change the image; it enforces types, NULL-ability,
//     lengths, primary-key and unique-index constraints, and aborts as a whole.
//   - A Snapshot is an immutable view: later writes never show through it.
//   - Row counts are kept per table inside the image, so they are O(1) and
//     always consistent with the rows of the same snapshot.
//   - Index keys preserve SQL order (see keys.go), so ranges are bounded scans.
package memdb

import (
	"fmt"
	"reflect"
	"regexp"
)

// Kind is the SQL type family of a column.
type Kind uint8

// The column kinds. Each has one Go type for its values; kinds.go holds
// all that is known of each.
const (
	KindBigInt         Kind = iota + 1 // BIGINT, int64
	KindBigIntUnsigned                 // BIGINT UNSIGNED, uint64
	KindInt                            // INT, int32
	KindDouble                         // DOUBLE, float64
	KindDecimal                        // DECIMAL(p,s), decimal.Decimal
	KindVarchar                        // VARCHAR(n), string
	KindChar                           // CHAR(n), string
	KindText                           // TEXT, string
	KindVarbinary                      // VARBINARY(n), []byte
	KindBlob                           // BLOB, []byte
	KindBoolean                        // BOOLEAN, int8 (0 or 1, as MySQL's TINYINT(1))
	KindDatetime                       // DATETIME(6) in UTC, time.Time
	KindJSON                           // JSON, string holding a JSON text
)

// String is the kind's SQL name.
func (k Kind) String() string {
	if info := k.info(); info != nil {
		return info.name
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Type is a column's SQL type: a kind plus its length (VARCHAR, CHAR,
// VARBINARY) or precision and scale (DECIMAL).
type Type struct {
	Kind      Kind
	Length    int // maximum characters (VARCHAR, CHAR) or bytes (VARBINARY); 0 = unbounded
	Precision int // DECIMAL digits in all
	Scale     int // DECIMAL digits after the point
}

// The fixed-size column types.
var (
	BigInt         = Type{Kind: KindBigInt}
	BigIntUnsigned = Type{Kind: KindBigIntUnsigned}
	Int            = Type{Kind: KindInt}
	Double         = Type{Kind: KindDouble}
	Text           = Type{Kind: KindText}
	Blob           = Type{Kind: KindBlob}
	Boolean        = Type{Kind: KindBoolean}
	Datetime       = Type{Kind: KindDatetime}
	JSON           = Type{Kind: KindJSON}
)

// Varchar is VARCHAR(n): at most n characters.
func Varchar(n int) Type { return Type{Kind: KindVarchar, Length: n} }

// Char is CHAR(n): at most n characters (stored without padding).
func Char(n int) Type { return Type{Kind: KindChar, Length: n} }

// Varbinary is VARBINARY(n): at most n bytes.
func Varbinary(n int) Type { return Type{Kind: KindVarbinary, Length: n} }

// Decimal is DECIMAL(precision, scale).
func Decimal(precision, scale int) Type {
	return Type{Kind: KindDecimal, Precision: precision, Scale: scale}
}

// String renders the type as SQL.
func (t Type) String() string {
	switch info := t.Kind.info(); {
	case t.Kind == KindDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case info != nil && info.sized:
		return fmt.Sprintf("%s(%d)", t.Kind, t.Length)
	}
	return t.Kind.String()
}

// Object is row as a map by column name (nil for a nil row): a row as a
// JSON object.
func (t *Table) Object(row Row) map[string]any {
	if row == nil {
		return nil
	}
	m := make(map[string]any, len(row))
	for i, c := range t.def.Columns {
		m[c.Name] = row[i]
	}
	return m
}

// Column declares one column of a table.
type Column struct {
	Name     string
	Type     Type
	Nullable bool
}

// IndexDef declares a secondary index.
type IndexDef struct {
	Name    string
	Columns []string
	Unique  bool
}

// TableDef declares a table: what an application writes in Go.
type TableDef struct {
	Name       string
	Columns    []Column
	PrimaryKey []string
	Indexes    []IndexDef
}

// Table is a validated table declaration with its column positions resolved.
// It is immutable and shared by every image of the application.
type Table struct {
	def     TableDef
	colPos  map[string]int
	primary *Index
	indexes []*Index // secondary, in declaration order
}

// Index is a resolved index of a table: the primary key or a secondary index.
type Index struct {
	Name    string
	Unique  bool
	Primary bool
	table   *Table
	pos     int   // 0 for the primary key, 1+i for the i-th secondary index
	cols    []int // indexed columns
	suffix  []int // primary-key columns appended to make the key unique (non-unique indexes)
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Define validates a table declaration and resolves it.
func Define(def TableDef) (*Table, error) {
	if !identRE.MatchString(def.Name) {
		return nil, fmt.Errorf("memdb: table name %q: want lower-case letters, digits and _", def.Name)
	}
	t := &Table{def: def, colPos: make(map[string]int, len(def.Columns))}
	for i, c := range def.Columns {
		if !identRE.MatchString(c.Name) {
			return nil, fmt.Errorf("memdb: table %s: column name %q: want lower-case letters, digits and _", def.Name, c.Name)
		}
		if _, dup := t.colPos[c.Name]; dup {
			return nil, fmt.Errorf("memdb: table %s: column %s declared twice", def.Name, c.Name)
		}
		if err := checkType(c.Type); err != nil {
			return nil, fmt.Errorf("memdb: table %s: column %s: %w", def.Name, c.Name, err)
		}
		t.colPos[c.Name] = i
	}
	pk, err := t.resolve("PRIMARY", def.PrimaryKey)
	if err != nil {
		return nil, err
	}
	for _, p := range pk {
		if def.Columns[p].Nullable {
			return nil, fmt.Errorf("memdb: table %s: primary key column %s must not be nullable", def.Name, def.Columns[p].Name)
		}
	}
	t.primary = &Index{Name: "PRIMARY", Unique: true, Primary: true, table: t, cols: pk}
	names := map[string]bool{"PRIMARY": true}
	for _, ix := range def.Indexes {
		if !identRE.MatchString(ix.Name) || names[ix.Name] {
			return nil, fmt.Errorf("memdb: table %s: index name %q is invalid or taken", def.Name, ix.Name)
		}
		names[ix.Name] = true
		cols, err := t.resolve(ix.Name, ix.Columns)
		if err != nil {
			return nil, err
		}
		t.indexes = append(t.indexes, &Index{Name: ix.Name, Unique: ix.Unique, table: t, pos: len(t.indexes) + 1, cols: cols, suffix: pk})
	}
	return t, nil
}

// MustDefine is Define for package-level declarations; it panics on an invalid
// declaration, which is a programming error, never outside input.
func MustDefine(def TableDef) *Table {
	t, err := Define(def)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Table) resolve(index string, names []string) ([]int, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("memdb: table %s: index %s has no columns", t.def.Name, index)
	}
	pos := make([]int, len(names))
	for i, n := range names {
		p, ok := t.colPos[n]
		if !ok {
			return nil, fmt.Errorf("memdb: table %s: index %s: no column %q", t.def.Name, index, n)
		}
		if !indexable(t.def.Columns[p].Type.Kind) {
			return nil, fmt.Errorf("memdb: table %s: index %s: %s column %s cannot be indexed", t.def.Name, index, t.def.Columns[p].Type.Kind, n)
		}
		pos[i] = p
	}
	return pos, nil
}

func checkType(t Type) error {
	info := t.Kind.info()
	switch {
	case info == nil:
		return fmt.Errorf("unknown column kind %d", t.Kind)
	case info.sized && (t.Length <= 0 || t.Length > 65535):
		return fmt.Errorf("%s length %d out of range 1..65535", t.Kind, t.Length)
	case t.Kind == KindDecimal && (t.Precision < 1 || t.Precision > 65 || t.Scale < 0 || t.Scale > 30 || t.Scale > t.Precision):
		return fmt.Errorf("DECIMAL(%d,%d) out of range", t.Precision, t.Scale)
	}
	return nil
}

// Name is the table's name.
func (t *Table) Name() string { return t.def.Name }

// Columns are the table's columns in declaration order.
func (t *Table) Columns() []Column { return t.def.Columns }

// Column returns the position of the named column.
func (t *Table) Column(name string) (int, bool) {
	p, ok := t.colPos[name]
	return p, ok
}

// Primary is the primary-key index.
func (t *Table) Primary() *Index { return t.primary }

// Indexes are the secondary indexes in declaration order.
func (t *Table) Indexes() []*Index { return t.indexes }

// Table is the table the index belongs to.
func (ix *Index) Table() *Table { return ix.table }

// Columns are the positions of the indexed columns (without the appended
// primary key of a non-unique index).
func (ix *Index) Columns() []int { return ix.cols }

// ColumnNames are the names of the indexed columns.
func (ix *Index) ColumnNames() []string {
	names := make([]string, len(ix.cols))
	for i, p := range ix.cols {
		names[i] = ix.table.def.Columns[p].Name
	}
	return names
}

// Key encodes the index key of a row. A non-unique index, and a unique one
// whose columns hold a NULL (MySQL allows many NULLs in a unique index), gets
// the primary key appended so that every entry is distinct.
func (ix *Index) Key(row Row) ([]byte, error) {
	return ix.appendKeyTo(make([]byte, 0, 16*len(ix.cols)), row)
}

func (ix *Index) appendKeyTo(key []byte, row Row) ([]byte, error) {
	key, _, err := ix.appendKeyParts(key, row)
	return key, err
}

// appendKeyParts is appendKeyTo that also returns where the indexed values
// end in the key (the appended primary key follows).
func (ix *Index) appendKeyParts(key []byte, row Row) (_ []byte, valuesEnd int, err error) {
	hasNull := false
	for _, p := range ix.cols {
		if row[p] == nil {
			hasNull = true
		}
		if key, err = appendKey(key, ix.table.def.Columns[p].Type.Kind, row[p]); err != nil {
			return nil, 0, err
		}
	}
	valuesEnd = len(key)
	if ix.Primary || (ix.Unique && !hasNull) {
		return key, valuesEnd, nil
	}
	for _, p := range ix.suffix {
		if key, err = appendKey(key, ix.table.def.Columns[p].Type.Kind, row[p]); err != nil {
			return nil, 0, err
		}
	}
	return key, valuesEnd, nil
}

// KeyPrefix encodes values for the first len(vals) indexed columns: the lower
// bound of a scan over rows starting with those values.
func (ix *Index) KeyPrefix(vals ...any) ([]byte, error) {
	if len(vals) > len(ix.cols) {
		return nil, fmt.Errorf("memdb: index %s.%s has %d columns, got %d values", ix.table.def.Name, ix.Name, len(ix.cols), len(vals))
	}
	var key []byte
	var err error
	for i, v := range vals {
		if key, err = appendKey(key, ix.table.def.Columns[ix.cols[i]].Type.Kind, v); err != nil {
			return nil, fmt.Errorf("memdb: %s.%s: %w", ix.table.def.Name, ix.table.def.Columns[ix.cols[i]].Name, err)
		}
	}
	return key, nil
}

// AppendColumnKey appends the key encoding of v as a value of the index's
// i-th column; the SQL layer builds range bounds with it.
func (ix *Index) AppendColumnKey(dst []byte, i int, v any) ([]byte, error) {
	return appendKey(dst, ix.table.def.Columns[ix.cols[i]].Type.Kind, v)
}

// checkRow verifies that a row fits the table: arity, Go types, NULL-ability,
// lengths. The error names the table and column.
func (t *Table) checkRow(row Row) error {
	if len(row) != len(t.def.Columns) {
		return fmt.Errorf("memdb: table %s has %d columns, row has %d values", t.def.Name, len(t.def.Columns), len(row))
	}
	for i, c := range t.def.Columns {
		if err := checkValue(c, row[i]); err != nil {
			return fmt.Errorf("memdb: %s.%s: %w", t.def.Name, c.Name, err)
		}
	}
	return nil
}

func checkValue(c Column, v any) error {
	if v == nil {
		if !c.Nullable {
			return fmt.Errorf("must not be NULL")
		}
		return nil
	}
	info := c.Type.Kind.info()
	if reflect.TypeOf(v) != info.value {
		return fmt.Errorf("value %v has Go type %T, want %s for %s", v, v, info.value, c.Type)
	}
	if info.check != nil {
		return info.check(c.Type, v)
	}
	return nil
}
