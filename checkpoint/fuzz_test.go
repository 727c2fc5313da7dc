package checkpoint

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/memdb"
)

var fuzzTable = memdb.MustDefine(memdb.TableDef{
	Name: "t",
	Columns: []memdb.Column{
		{Name: "id", Type: memdb.BigInt},
		{Name: "name", Type: memdb.Varchar(20), Nullable: true},
		{Name: "at", Type: memdb.Datetime},
		{Name: "price", Type: memdb.Decimal(10, 2), Nullable: true},
		{Name: "blob", Type: memdb.Blob},
		{Name: "n", Type: memdb.Int},
		{Name: "f", Type: memdb.Double},
		{Name: "u", Type: memdb.BigIntUnsigned},
		{Name: "b", Type: memdb.Boolean},
	},
	PrimaryKey: []string{"id"},
	Indexes:    []memdb.IndexDef{{Name: "name", Columns: []string{"name"}, Unique: true}},
})

// sampleImage holds a few rows with values of every kind, NULLs among them.
func sampleImage(t testing.TB) *memdb.Image {
	im, _ := memdb.NewImage(fuzzTable)
	tx := im.Txn()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for i := range 5 {
		var name, price any
		if i%2 == 0 {
			name, price = "n"+string(rune('a'+i)), decimal.New(int64(i*1234), -2)
		}
		row := memdb.Row{int64(i - 2), name, at, price, []byte{byte(i)}, int32(-i), float64(i) / 3, uint64(i) << 60, int8(i % 2)}
		if err := tx.Insert(fuzzTable, row); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	return im
}

// sampleFile is a checkpoint of sampleImage.
func sampleFile(t testing.TB) []byte {
	f, _, err := Write(t.TempDir(), sampleImage(t).Snapshot(), Header{Seq: 5, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripEveryKind(t *testing.T) {
	b := sampleFile(t)
	path := filepath.Join(t.TempDir(), Name(5))
	os.WriteFile(path, b, 0o644)
	im, _ := memdb.NewImage(fuzzTable)
	h, st, err := Load(path, im, [32]byte{}, nil)
	if err != nil || h.Seq != 5 || st.Rows != 5 {
		t.Fatalf("load: %+v %+v %v", h, st, err)
	}
	// Written again from what was loaded, the file is the same bytes.
	f, _, err := Write(t.TempDir(), im.Snapshot(), h, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(f.Path)
	if !bytes.Equal(again, b) {
		t.Error("a loaded checkpoint written again differs from the original")
	}
}

// FuzzLoad: any bytes as a checkpoint file give an error or a load, never a
// panic or a hang.
func FuzzLoad(f *testing.F) {
	f.Add(sampleFile(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), Name(1))
		os.WriteFile(path, data, 0o644)
		im, _ := memdb.NewImage(fuzzTable)
		Load(path, im, [32]byte{}, nil)
	})
}

// FuzzLoadBody: the decoder behind the checksum, fed directly.
func FuzzLoadBody(f *testing.F) {
	var body bytes.Buffer
	writeBody(&body, sampleImage(f).Snapshot(), func() {}, memdb.NewHasher())
	f.Add(body.Bytes())
	f.Add([]byte{1, 1, 't', 1, 2, 'i', 'd', 1, 0, 0, 0, 0, 3, 1, 2, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		im, _ := memdb.NewImage(fuzzTable)
		loadBody(bufio.NewReader(bytes.NewReader(data)), im)
	})
}

// TestPause: Write calls Pause after each block with the time worked since
// the previous call (not counting the time Pause itself took), and a paced
// write is the same file.
func TestPause(t *testing.T) {
	im, _ := memdb.NewImage(fuzzTable)
	tx := im.Txn()
	for i := range 300 { // 300 KiB of rows: at least four 64 KiB blocks
		row := memdb.Row{int64(i), nil, time.Unix(int64(i), 0).UTC(), nil, bytes.Repeat([]byte{byte(i)}, 1024), int32(i), 0.5, uint64(i), int8(1)}
		if err := tx.Insert(fuzzTable, row); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	h := Header{Seq: 9, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	var calls int
	var worked time.Duration
	start := time.Now()
	paced, _, err := Write(t.TempDir(), im.Snapshot(), h, WriteOptions{Pause: func(w time.Duration) {
		calls++
		worked += w
		time.Sleep(20 * time.Millisecond)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); calls < 4 || worked <= 0 || worked > elapsed-time.Duration(calls)*20*time.Millisecond {
		t.Fatalf("%d pauses, %v worked in %v", calls, worked, elapsed)
	}
	plain, _, err := Write(t.TempDir(), im.Snapshot(), h, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(paced.Path)
	b, _ := os.ReadFile(plain.Path)
	if !bytes.Equal(a, b) {
		t.Fatal("a paced write differs from an unpaced one")
	}
}
