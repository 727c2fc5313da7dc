package migrations

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/imagodb/imago/envelope"
)

// The index of versions (a file in a data directory, log.versions) holds
// the (command, version) pairs of its log with the first seq of each, up
// to the seq scanned: Open checks them against the app's commands and
// upcasters before it applies anything, and reads only the entries logged
// since the last start.

// versionIndex is the content of the index file.
type versionIndex struct {
	Scanned uint64            `json:"scanned"` // entries up to this seq are indexed
	Digest  string            `json:"digest"`  // SHA-256 of the entry at Scanned: another history is rescanned
	First   map[string]uint64 `json:"first"`   // "name@version" → its first seq
}

func pairKey(name string, version uint32) string {
	return name + "@" + strconv.FormatUint(uint64(version), 10)
}

func splitPair(k string) (string, uint32) {
	i := strings.LastIndexByte(k, '@')
	v, _ := strconv.ParseUint(k[i+1:], 10, 32)
	return k[:i], uint32(v)
}

// valueDigest is the SHA-256 of the log's entry at seq, hex ("" if absent).
func valueDigest(log envelope.Values, seq uint64) (string, error) {
	var d string
	err := log.ReadValues(seq, seq, func(_ uint64, v []byte) error {
		sum := sha256.Sum256(v)
		d = fmt.Sprintf("%x", sum)
		return nil
	})
	return d, err
}

// logVersions brings the index at path of (command, version) pairs up to
// last and returns it (written back if it grew). An index of another
// history (its last entry's digest differs) is rebuilt.
func logVersions(path string, log envelope.Values, last uint64) (*versionIndex, error) {
	first := log.FirstSeq()
	idx := &versionIndex{}
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, idx) == nil && idx.Scanned <= last && idx.Scanned >= first && idx.First != nil {
		if d, err := valueDigest(log, idx.Scanned); err != nil || d != idx.Digest {
			idx = &versionIndex{}
		}
	} else {
		idx = &versionIndex{} // none, of another history, or ending before a truncated log's start
	}
	if idx.First == nil {
		idx.First = map[string]uint64{}
	}
	for k, seq := range idx.First { // entries truncated away are not replayed
		if seq < first {
			delete(idx.First, k)
		}
	}
	if idx.Scanned >= last || first > last { // nothing new, or a log truncated to nothing
		return idx, nil
	}
	var prevName string
	var prevVersion uint32
	err := log.ReadValues(max(idx.Scanned+1, first), last, func(seq uint64, v []byte) error {
		name, version, err := envelope.DecodeHead(seq, v)
		if err != nil {
			return err
		}
		if name == prevName && version == prevVersion {
			return nil // runs of one command cost no map lookup
		}
		prevName, prevVersion = name, version
		if k := pairKey(name, version); idx.First[k] == 0 {
			idx.First[k] = seq
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	idx.Scanned = last
	if idx.Digest, err = valueDigest(log, last); err != nil {
		return nil, err
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return idx, nil
}

// CheckVersions refuses a log holding a (command, version) without a path
// to a current definition of the app: the first such entry by seq, its
// command, version and the missing upcaster (*MissingUpcasterError).
// indexPath is the index file kept up to date meanwhile.
func CheckVersions(indexPath string, log envelope.Values, last uint64, chain *Chain) error {
	idx, err := logVersions(indexPath, log, last)
	if err != nil {
		return fmt.Errorf("index the log's command versions: %w", err)
	}
	keys := make([]string, 0, len(idx.First))
	for k := range idx.First {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return idx.First[keys[i]] < idx.First[keys[j]] })
	for _, k := range keys {
		name, version := splitPair(k)
		if err := chain.Check(idx.First[k], name, version); err != nil {
			return err
		}
	}
	return nil
}
