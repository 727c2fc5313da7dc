package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"testing"
	"time"

	"github.com/imagodb/imago/memdb"
)

// TestWriteLoad: a checkpoint loads back into an image equal to the one
// written (values of every kind, NULLs, indexes), with its header.
func TestWriteLoad(t *testing.T) {
	src := sampleImage(t).Snapshot()
	want, _ := src.Hash()
	fp := [32]byte{1, 2, 3}
	h := Header{Seq: 42, Fingerprint: fp, CreatedAt: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)}
	f, st, err := Write(t.TempDir(), src, h, WriteOptions{})
	if err != nil || f.Seq != 42 || st.Rows != 5 {
		t.Fatalf("Write: %+v %+v %v", f, st, err)
	}
	im, _ := memdb.NewImage(fuzzTable)
	got, lst, err := Load(f.Path, im, fp, nil)
	if err != nil || got.Seq != 42 || !got.CreatedAt.Equal(h.CreatedAt) || lst.Rows != 5 {
		t.Fatalf("Load: %+v %+v %v", got, lst, err)
	}
	if hash, _ := im.Snapshot().Hash(); hash != want || st.ImageHash != want || got.ImageHash != want {
		t.Fatalf("the loaded image differs from the one written, or Write's hash (%x) or the file's (%x) is not the snapshot's", st.ImageHash[:4], got.ImageHash[:4])
	}
	if inspected, err := Inspect(f.Path); err != nil || inspected.ImageHash != want {
		t.Fatalf("Inspect: image hash %x (%v), want the snapshot's", inspected.ImageHash[:4], err)
	}
	if _, err := Verify(f.Path, fp); err != nil {
		t.Fatalf("Verify of a good file: %v", err)
	}
}

// TestRefusals: a file of another projection, or one damaged anywhere, is
// refused before anything is loaded from it.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	fp := [32]byte{7}
	f, _, err := Write(dir, sampleImage(t).Snapshot(), Header{Seq: 3, Fingerprint: fp}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(f.Path, [32]byte{8}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("another fingerprint: %v, want ErrMismatch", err)
	}
	good, _ := os.ReadFile(f.Path)
	for _, at := range []int{0, len(good) / 2, len(good) - 1} {
		bad := append([]byte(nil), good...)
		bad[at] ^= 0x40
		if err := os.WriteFile(f.Path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(f.Path, fp); err == nil {
			t.Errorf("a byte flipped at %d of %d: verified", at, len(good))
		}
		im, _ := memdb.NewImage(fuzzTable)
		if _, _, err := Load(f.Path, im, fp, nil); err == nil || im.Snapshot().Count(fuzzTable) != 0 {
			t.Errorf("a byte flipped at %d: loaded (%v)", at, err)
		}
	}
}

// TestList: checkpoints are listed newest first; other files are ignored.
func TestList(t *testing.T) {
	dir := t.TempDir()
	for _, seq := range []uint64{5, 120, 9} {
		if _, _, err := Write(dir, sampleImage(t).Snapshot(), Header{Seq: seq}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(dir+"/notes.txt", []byte("x"), 0o644)
	files, err := List(dir)
	if err != nil || len(files) != 3 || files[0].Seq != 120 || files[1].Seq != 9 || files[2].Seq != 5 {
		t.Fatalf("List: %+v %v", files, err)
	}
}

// TestOlderFormatsStillLoad: files of format 1 (before Header.LastEntry)
// and 2 (before Header.ImageHash) load, with those fields zero.
func TestOlderFormatsStillLoad(t *testing.T) {
	fp := [32]byte{9}
	h := Header{Seq: 8, Fingerprint: fp, LastEntry: EntryDigest([]byte("entry 8"))}
	f, st, err := Write(t.TempDir(), sampleImage(t).Snapshot(), h, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v3, _ := os.ReadFile(f.Path)
	body := v3[headerSize : len(v3)-hashSize-trailerSize]
	// older is the file in format version with a header of n bytes and no
	// image hash, its own checksum.
	older := func(version uint16, n int) []byte {
		b := append(append([]byte(nil), v3[:n]...), body...)
		binary.BigEndian.PutUint16(b[8:], version)
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
		return append(b, endMagic...)
	}
	for _, c := range []struct {
		version   uint16
		file      []byte
		lastEntry [32]byte
	}{
		{1, older(1, headerSizeV1), [32]byte{}},
		{2, older(2, headerSize), h.LastEntry},
	} {
		t.Run(fmt.Sprint("format ", c.version), func(t *testing.T) {
			if err := os.WriteFile(f.Path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			im, _ := memdb.NewImage(fuzzTable)
			got, lst, err := Load(f.Path, im, fp, nil)
			if err != nil || got.Seq != 8 || got.LastEntry != c.lastEntry || got.ImageHash != ([32]byte{}) || lst.Rows != 5 {
				t.Fatalf("format %d: %+v %+v %v", c.version, got, lst, err)
			}
			if hash, _ := im.Snapshot().Hash(); hash != st.ImageHash {
				t.Fatalf("format %d loaded another image", c.version)
			}
		})
	}
}
