package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/imagodb/imago/memdb"
)

// Verify checks the file at path: header, fingerprint (unless want is the
// zero fingerprint), end marker and checksum. It reads the whole file once.
func Verify(path string, want [32]byte) (Header, error) {
	f, h, size, err := open(path, want)
	if err != nil {
		return h, err
	}
	defer f.Close()
	return h, checkSum(f, size)
}

// Inspect reads the header of the checkpoint at path and checks that the
// file ends with the end marker, without reading it all (Verify does).
func Inspect(path string) (Header, error) {
	f, h, _, err := open(path, [32]byte{})
	if err != nil {
		return h, err
	}
	f.Close()
	return h, nil
}

// Load verifies the checkpoint at path (see Verify), then loads its rows into
// im, which must be empty. progress, if not nil, is called as the file is
// read with the bytes read so far and the file's size. On an error im may
// hold part of the rows: the caller starts over with a new image.
func Load(path string, im *memdb.Image, want [32]byte, progress func(done, total uint64)) (Header, Stats, error) {
	f, h, size, err := open(path, want)
	if err != nil {
		return h, Stats{}, err
	}
	defer f.Close()
	if err := checkSum(f, size); err != nil {
		return h, Stats{}, err
	}
	hs := int64(headerLen(h))
	var body io.Reader = io.NewSectionReader(f, hs, size-hs-hashLen(h)-trailerSize)
	if progress != nil {
		body = &progressReader{r: body, done: uint64(hs), total: uint64(size), progress: progress}
	}
	zr, err := zstd.NewReader(body, zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return h, Stats{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	defer zr.Close()
	rows, err := loadBody(bufio.NewReaderSize(zr, 1<<20), im)
	if err != nil {
		return h, Stats{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return h, Stats{Rows: rows, Bytes: size}, nil
}

// progressReader tells progress how far reading has come.
type progressReader struct {
	r           io.Reader
	done, total uint64
	progress    func(done, total uint64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += uint64(n)
	p.progress(p.done, p.total)
	return n, err
}

// open opens path and checks its header and end marker.
func open(path string, want [32]byte) (*os.File, Header, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Header{}, 0, fmt.Errorf("checkpoint: %w", err)
	}
	h, size, err := readFrame(f, want)
	if err != nil {
		f.Close()
		return nil, h, 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return f, h, size, nil
}

func readFrame(f *os.File, want [32]byte) (Header, int64, error) {
	info, err := f.Stat()
	if err != nil {
		return Header{}, 0, err
	}
	size := info.Size()
	if size < headerSizeV1+trailerSize {
		return Header{}, size, fmt.Errorf("truncated: %d bytes, shorter than a header and trailer", size)
	}
	head := make([]byte, min(headerSize, size-trailerSize))
	if _, err := f.ReadAt(head, 0); err != nil {
		return Header{}, size, err
	}
	h, err := decodeHeader(head)
	if err != nil {
		return h, size, err
	}
	if want != ([32]byte{}) && h.Fingerprint != want {
		return h, size, ErrMismatch
	}
	var tail [trailerSize]byte
	if _, err := f.ReadAt(tail[:], size-trailerSize); err != nil {
		return h, size, err
	}
	if string(tail[4:]) != endMagic {
		return h, size, errors.New("truncated or damaged: no end marker")
	}
	if n := hashLen(h); n > 0 {
		if size < int64(headerLen(h))+n+trailerSize {
			return h, size, fmt.Errorf("truncated: %d bytes, shorter than a header, image hash and trailer of format %d", size, h.version)
		}
		if _, err := f.ReadAt(h.ImageHash[:], size-trailerSize-n); err != nil {
			return h, size, err
		}
	}
	return h, size, nil
}

func decodeHeader(b []byte) (Header, error) {
	if string(b[:8]) != magic {
		return Header{}, errors.New("not a checkpoint file (bad magic)")
	}
	v := binary.BigEndian.Uint16(b[8:])
	if v < 1 || v > formatVersion {
		return Header{}, fmt.Errorf("format version %d, this build reads 1 to %d", v, formatVersion)
	}
	h := Header{Seq: binary.BigEndian.Uint64(b[10:]), version: v}
	if len(b) < headerLen(h) {
		return Header{}, fmt.Errorf("truncated: the header of format %d needs %d bytes", v, headerLen(h))
	}
	copy(h.Fingerprint[:], b[18:50])
	h.CreatedAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[50:]))).UTC()
	if v >= 2 {
		copy(h.LastEntry[:], b[headerSizeV1:headerSize])
	}
	return h, nil
}

// headerLen is the size of h's header in its file's format.
func headerLen(h Header) int {
	if h.version == 1 {
		return headerSizeV1
	}
	return headerSize
}

// hashLen is the size of the image hash before the trailer in h's file.
func hashLen(h Header) int64 {
	if h.version < 3 {
		return 0
	}
	return hashSize
}

// checkSum compares the CRC-32C of everything before the trailer with the
// trailer's.
func checkSum(f *os.File, size int64) error {
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, size-trailerSize)); err != nil {
		return fmt.Errorf("checkpoint %s: %w", f.Name(), err)
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], size-trailerSize); err != nil {
		return fmt.Errorf("checkpoint %s: %w", f.Name(), err)
	}
	if got, want := crc.Sum32(), binary.BigEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("checkpoint %s: checksum mismatch (%08x, the file says %08x): the file is damaged", f.Name(), got, want)
	}
	return nil
}

// loadBody decodes the tables from r into im and returns the rows loaded.
// A table's indexes are built (memdb.Image.Load) as soon as it is decoded,
// while the next tables are decoded and the earlier ones still build: a
// table waiting for the previous one's build left a core idle whenever
// fewer indexes than cores were left to build.
func loadBody(r *bufio.Reader, im *memdb.Image) (int64, error) {
	tables := im.Tables()
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, bodyErr(err)
	}
	if n != uint64(len(tables)) {
		return 0, fmt.Errorf("%d tables, the image has %d", n, len(tables))
	}
	var total int64
	var builds sync.WaitGroup
	defer builds.Wait() // no build touches im after an error is returned
	errs := make([]error, len(tables))
	for i, t := range tables {
		rows, err := readTable(r, t)
		if err != nil {
			return 0, err
		}
		builds.Go(func() {
			if err := im.Load(t, rows); err != nil {
				errs[i] = fmt.Errorf("table %s: %w", t.Name(), err)
			}
		})
		total += int64(len(rows))
	}
	builds.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return 0, errors.New("data after the last table")
	}
	return total, nil
}

func bodyErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readTableHeader checks that the next table is t, declared the same way,
// and returns its row count.
func readTableHeader(r *bufio.Reader, t *memdb.Table) (uint64, error) {
	var want []byte
	want = appendTableHeader(want, t, 0)
	want = want[:len(want)-1] // without the row count
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		return 0, fmt.Errorf("table %s: %w", t.Name(), bodyErr(err))
	}
	if !bytes.Equal(got, want) {
		return 0, fmt.Errorf("table %s: the file declares another table or other columns here", t.Name())
	}
	rows, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("table %s: %w", t.Name(), bodyErr(err))
	}
	return rows, nil
}

// readTable reads the next table, which must be t, and returns its rows.
func readTable(r *bufio.Reader, t *memdb.Table) ([]memdb.Row, error) {
	n, err := readTableHeader(r, t)
	if err != nil {
		return nil, err
	}
	rows, err := readRows(r, t, n)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name(), err)
	}
	return rows, nil
}

// readRows reads n rows of t, in blocks.
func readRows(r *bufio.Reader, t *memdb.Table, n uint64) ([]memdb.Row, error) {
	cols := t.Columns()
	// The count is the file's word: grow towards it rather than trust it.
	rows := make([]memdb.Row, 0, min(n, 1<<16))
	var block []byte
	for uint64(len(rows)) < n {
		loaded := uint64(len(rows))
		count, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, bodyErr(err)
		}
		size, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, bodyErr(err)
		}
		if count == 0 || count > n-loaded || size > maxBlock {
			return nil, fmt.Errorf("block of %d rows in %d bytes after %d of %d rows", count, size, loaded, n)
		}
		if cap(block) < int(size) {
			block = make([]byte, size)
		}
		block = block[:size]
		if _, err := io.ReadFull(r, block); err != nil {
			return nil, bodyErr(err)
		}
		d := memdb.NewValueReader(block)
		for i := uint64(0); i < count; i++ {
			row, err := readRow(d, cols)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", loaded+i+1, err)
			}
			rows = append(rows, row)
		}
		if d.Len() != 0 {
			return nil, fmt.Errorf("block after row %d: %d bytes left over", loaded+count, d.Len())
		}
	}
	return rows, nil
}

// Checksum is the CRC-32C a checkpoint file's trailer records (of
// everything before it), read without reading the file.
func Checksum(path string) (uint32, error) {
	f, _, size, err := open(path, [32]byte{})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var tail [trailerSize]byte
	if _, err := f.ReadAt(tail[:], size-trailerSize); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(tail[:4]), nil
}
