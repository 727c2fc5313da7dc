// Package checkpoint writes and loads checkpoint files: an image serialised
// at a seq, so that a restart replays only the log after it.
//
// A file, <dir>/<seq, 20 digits>.ckpt, is:
//
//	header   "IMAGOCKP", format version (uint16), seq (uint64), projection
//	         fingerprint (32 bytes), created at (Unix ns, int64), big-endian;
//	         SHA-256 of the log entry at seq (format 2 on)
//	body     zstd: the table count, then per table its name, its columns
//	         (name, kind, length, precision, scale, nullable), its row count
//	         and its rows in primary-key order, in blocks (rows.go)
//	hash     the image's memdb.Snapshot.Hash (32 bytes; format 3 on)
//	trailer  CRC-32C of everything before it (uint32), "IMAGOEND"
//
// Guarantees:
//   - Write streams the rows of a snapshot (memory does not double) to a
//     temporary file, fsyncs it, renames it into place and fsyncs the
//     directory: a crash leaves either no file or a complete one; a leftover
//     temporary file is never loaded and is removed by the next Write.
//   - Load checks the checksum over the whole file before it decodes a row,
//     and the fingerprint before that: a damaged, truncated or foreign file is
//     refused with an error naming the reason, and the image is not touched.
//   - Decoding never panics or loops on any input (fuzzed); every length is
//     checked against what remains.
package checkpoint

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/imagodb/imago/memdb"
)

const (
	magic    = "IMAGOCKP"
	endMagic = "IMAGOEND"
	// formatVersion 2 added LastEntry to the header, 3 the image hash
	// after the body (a primary lists it without reading the file, for
	// its replicas to compare); older files still load (their LastEntry
	// and ImageHash are zero: not known).
	formatVersion = 3
	headerSizeV1  = 8 + 2 + 8 + 32 + 8
	headerSize    = headerSizeV1 + 32
	hashSize      = 32
	trailerSize   = 4 + 8
	suffix        = ".ckpt"
	// blockSize is the encoded size at which a block of rows is cut.
	blockSize = 64 << 10
	// maxBlock bounds a block a reader accepts (a single row may exceed
	// blockSize, up to this).
	maxBlock = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TempSuffix ends the name of a checkpoint being written; it is renamed
// without it once complete.
const TempSuffix = ".tmp"

// Header describes a checkpoint.
type Header struct {
	Seq         uint64    // the image holds the commands 1..Seq
	Fingerprint [32]byte  // of the projection that wrote it (see imago.App)
	CreatedAt   time.Time // when it was written
	// LastEntry is a digest of the log entry at Seq (EntryDigest; zero for
	// seq 0 and in files of format 1): a log whose entry at Seq differs is
	// another history, which this image must never be loaded over.
	LastEntry [32]byte
	// ImageHash is the image's memdb.Snapshot.Hash, as written after the
	// body (zero in files before format 3; Write computes it, ignoring
	// this field).
	ImageHash [32]byte

	version uint16 // the file's format version (0 for a header to write)
}

// EntryDigest is the digest of a log entry's value that Header.LastEntry
// holds.
func EntryDigest(value []byte) [32]byte { return sha256.Sum256(value) }

// File is a checkpoint file in a directory.
type File struct {
	Path string
	Seq  uint64
	Size int64
}

// ErrMismatch is returned by Load for a checkpoint written by another
// projection (its fingerprint differs): the image must be rebuilt from the log.
var ErrMismatch = errors.New("checkpoint: written by another projection (fingerprint differs)")

// Name is the file name of the checkpoint at seq.
func Name(seq uint64) string { return fmt.Sprintf("%020d%s", seq, suffix) }

// List returns the checkpoint files in dir, newest (highest seq) first. A
// missing directory has none.
func List(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var files []File
	for _, e := range entries {
		seq, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), suffix), 10, 64)
		if !strings.HasSuffix(e.Name(), suffix) || err != nil || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, File{Path: filepath.Join(dir, e.Name()), Seq: seq, Size: info.Size()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Seq > files[j].Seq })
	return files, nil
}

// Stats describe a written or loaded checkpoint.
type Stats struct {
	Rows  int64
	Bytes int64 // the file's size
	// ImageHash is the written image's memdb.Snapshot.Hash (Write only),
	// computed as the rows are written.
	ImageHash [32]byte
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Pause, if set, is called after each block of rows (about every
	// blockSize bytes of them) with the time spent since the previous call,
	// and may sleep: it lets a caller bound the share of the machine a
	// checkpoint takes from other work.
	Pause func(worked time.Duration)
}

// Write writes snap, the image at h.Seq, into dir (created if missing) and
// returns the file. The snapshot is read as it is written: the writer of the
// image goes on meanwhile.
func Write(dir string, snap *memdb.Snapshot, h Header, o WriteOptions) (File, Stats, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return File{}, Stats{}, fmt.Errorf("checkpoint: %w", err)
	}
	final := filepath.Join(dir, Name(h.Seq))
	tmp := final + TempSuffix
	os.Remove(tmp) // a leftover of a crash during an earlier write
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return File{}, Stats{}, fmt.Errorf("checkpoint: %w", err)
	}
	st, err := writeFile(f, snap, h, o)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return File{}, Stats{}, fmt.Errorf("checkpoint: write %s: %w", final, err)
	}
	return File{Path: final, Seq: h.Seq, Size: st.Bytes}, st, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// countingWriter hashes and counts what goes through it.
type countingWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func writeFile(f *os.File, snap *memdb.Snapshot, h Header, o WriteOptions) (Stats, error) {
	bw := bufio.NewWriterSize(f, 1<<20)
	out := &countingWriter{w: bw, crc: crc32.New(castagnoli)}
	if _, err := out.Write(encodeHeader(h)); err != nil {
		return Stats{}, err
	}
	// One encoder goroutine: a checkpoint shares the machine with the writer.
	zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return Stats{}, err
	}
	pause := func() {}
	if o.Pause != nil {
		last := time.Now()
		pause = func() {
			o.Pause(time.Since(last))
			last = time.Now()
		}
	}
	hasher := memdb.NewHasher()
	rows, err := writeBody(zw, snap, pause, hasher)
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return Stats{}, err
	}
	sum := hasher.Sum()
	if _, err := out.Write(sum[:]); err != nil {
		return Stats{}, err
	}
	trailer := binary.BigEndian.AppendUint32(nil, out.crc.Sum32())
	if _, err := bw.Write(append(trailer, endMagic...)); err != nil {
		return Stats{}, err
	}
	return Stats{Rows: rows, Bytes: out.n + trailerSize, ImageHash: sum}, bw.Flush()
}

func encodeHeader(h Header) []byte {
	b := append([]byte(nil), magic...)
	b = binary.BigEndian.AppendUint16(b, formatVersion)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = append(b, h.Fingerprint[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.CreatedAt.UnixNano()))
	return append(b, h.LastEntry[:]...)
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// writeBody writes every table of snap and returns the rows written; pause
// is called after each block.
func writeBody(w io.Writer, snap *memdb.Snapshot, pause func(), hasher *memdb.Hasher) (int64, error) {
	tables := snap.Tables()
	buf := binary.AppendUvarint(nil, uint64(len(tables)))
	var total int64
	for _, t := range tables {
		buf = appendTableHeader(buf, t, snap.Count(t))
		hasher.Table(t, snap.Count(t))
		n, err := writeRows(w, &buf, t, snap, pause, hasher)
		if err != nil {
			return 0, fmt.Errorf("table %s: %w", t.Name(), err)
		}
		total += n
	}
	_, err := w.Write(buf)
	return total, err
}

func appendTableHeader(dst []byte, t *memdb.Table, rows int64) []byte {
	dst = appendString(dst, t.Name())
	dst = binary.AppendUvarint(dst, uint64(len(t.Columns())))
	for _, c := range t.Columns() {
		dst = appendString(dst, c.Name)
		dst = append(dst, byte(c.Type.Kind))
		dst = binary.AppendUvarint(dst, uint64(c.Type.Length))
		dst = binary.AppendUvarint(dst, uint64(c.Type.Precision))
		dst = binary.AppendUvarint(dst, uint64(c.Type.Scale))
		dst = append(dst, boolByte(c.Nullable))
	}
	return binary.AppendUvarint(dst, uint64(rows))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// writeRows writes t's rows in blocks: the row count and byte length of each
// block, then its rows. *buf holds what is not yet written.
func writeRows(w io.Writer, buf *[]byte, t *memdb.Table, snap *memdb.Snapshot, pause func(), hasher *memdb.Hasher) (int64, error) {
	it, err := snap.Scan(t.Primary(), nil)
	if err != nil {
		return 0, err
	}
	cols := t.Columns()
	var block []byte
	var inBlock, total int64
	flush := func() error {
		if inBlock == 0 {
			return nil
		}
		*buf = binary.AppendUvarint(*buf, uint64(inBlock))
		*buf = binary.AppendUvarint(*buf, uint64(len(block)))
		*buf = append(*buf, block...)
		_, err := w.Write(*buf)
		*buf, block, inBlock = (*buf)[:0], block[:0], 0
		pause()
		return err
	}
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		if block, err = appendRow(block, cols, row); err != nil {
			return 0, err
		}
		hasher.Row(t, row)
		inBlock++
		total++
		if len(block) >= blockSize {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if total != snap.Count(t) {
		return 0, fmt.Errorf("scanned %d rows, the snapshot counts %d", total, snap.Count(t))
	}
	return total, flush()
}
