// Package ondisk finds bytes in the files under a directory: what tests of
// redaction assert (no file of a data directory holds a redacted value).
//
// Guarantees:
//   - Every regular file under the directory is read whole; a file removed
//     while the directory is walked (a running log's) is passed over.
package ondisk

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Holding lists the files under dir whose bytes contain s.
func Holding(dir string, s []byte) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if bytes.Contains(b, s) {
			found = append(found, path)
		}
		return nil
	})
	return found, err
}
