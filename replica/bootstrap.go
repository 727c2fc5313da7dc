package replica

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/wal"
)

// remoteCheckpoint is an entry of the primary's GET /v1/checkpoints.
type remoteCheckpoint struct {
	Seq         uint64 `json:"seq"`
	Size        int64  `json:"size"`
	Checksum    string `json:"checksum"`
	Fingerprint string `json:"fingerprint"`
}

// bootstrap fills a new data directory: the primary's newest checkpoint of
// this projection, verified, with an empty log that begins after it. With
// no such checkpoint (another projection, or none yet) the log begins at
// seq 1 and the replica builds its image from the primary's whole log.
func (r *Replica) bootstrap(ctx context.Context) error {
	c, err := r.newestCheckpoint(ctx)
	if err != nil {
		return err
	}
	first := uint64(1)
	if c != nil {
		if err := r.download(ctx, *c); err != nil {
			return err
		}
		first = c.Seq + 1
		r.cfg.Logger.Info("replica bootstrapped from the primary's checkpoint", "seq", c.Seq, "bytes", c.Size)
	} else {
		r.cfg.Logger.Info("no checkpoint of this projection on the primary: the replica builds its image from the primary's whole log")
	}
	log, err := wal.Open(imago.LogDir(r.cfg.Data), wal.Options{})
	if err != nil {
		return err
	}
	if err := log.StartAt(first); err != nil {
		log.Close()
		return err
	}
	return log.Close()
}

// newestCheckpoint is the primary's newest checkpoint of the replica's
// projection, or nil.
func (r *Replica) newestCheckpoint(ctx context.Context) (*remoteCheckpoint, error) {
	resp, err := r.get(ctx, "/v1/checkpoints", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct{ Checkpoints []remoteCheckpoint }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET /v1/checkpoints: %w", err)
	}
	fp := r.cfg.App.Fingerprint()
	want := hex.EncodeToString(fp[:])
	for _, c := range list.Checkpoints {
		if c.Fingerprint == want {
			return &c, nil
		}
	}
	return nil, nil
}

// download fetches checkpoint c into the replica's checkpoints directory,
// resuming a partial download with a Range request, and keeps it only
// once its checksum and fingerprint verify.
func (r *Replica) download(ctx context.Context, c remoteCheckpoint) error {
	dir := imago.CheckpointDir(r.cfg.Data)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	final := filepath.Join(dir, checkpoint.Name(c.Seq))
	part := final + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	header := http.Header{"If-Range": {fmt.Sprintf(`"%d-%s"`, c.Seq, c.Checksum)}}
	if have > 0 {
		header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := r.get(ctx, "/v1/checkpoints/"+strconv.FormatUint(c.Seq, 10), header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent { // the whole file
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return fmt.Errorf("download checkpoint %d: %w", c.Seq, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if _, err := checkpoint.Verify(part, r.cfg.App.Fingerprint()); err != nil {
		os.Remove(part) // a bad file is fetched whole next time
		return fmt.Errorf("checkpoint %d from the primary: %w", c.Seq, err)
	}
	return os.Rename(part, final)
}
