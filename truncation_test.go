package imago_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/offline"
)

// TestTruncateLog: with TruncateLog, checkpoints taken while writers run
// remove the log up to the oldest kept one; the image still equals a replay
// (from that checkpoint), a restart recovers everything, the tools verify
// from the base, and without a checkpoint that covers the log's start (all
// removed, or another projection) Open refuses to start and says why.
func TestTruncateLog(t *testing.T) {
	dir := t.TempDir()
	opts := imago.Options{TruncateLog: true, CheckpointsKeep: 2}
	db, err := imago.Open(dir, shop.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, db, workload.Setup(30, 20))
	var infos []imago.CheckpointInfo
	loadShop(t, db, 4, 300, func() {
		for i := range 3 { // each at a new seq, whatever the writers did
			submitAll(t, db, []commands.Command{&shop.Restock{SKU: workload.SKU(0), Quantity: int64(i + 1)}})
			info, err := db.Checkpoint()
			if err != nil {
				t.Error(err)
				return
			}
			infos = append(infos, info)
		}
	})
	oldestKept := infos[len(infos)-2]
	if got := db.Log().FirstSeq(); got != oldestKept.Seq+1 {
		t.Fatalf("log begins at %d, want %d (after the oldest kept checkpoint)", got, oldestKept.Seq+1)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	total := db.View().Seq
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = imago.Open(dir, shop.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if db.View().Seq != total || db.Restored().Seq != infos[2].Seq {
		t.Fatalf("recovered seq %d from checkpoint %d, want %d from %d", db.View().Seq, db.Restored().Seq, total, infos[2].Seq)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	rep, err := offline.CheckLog(dir, shop.App())
	if err != nil || !rep.OK() || rep.Base != oldestKept.Seq || rep.FirstSeq != oldestKept.Seq+1 {
		t.Fatalf("log verify of the truncated log: %+v %v", rep, err)
	}
	verdicts, err := offline.VerifyCheckpoints(dir, shop.App())
	if err != nil || len(verdicts) != 2 || verdicts[0].Err != nil || verdicts[1].Err != nil || !verdicts[1].Base || verdicts[0].Base {
		t.Fatalf("checkpoint verify: %+v %v", verdicts, err)
	}

	// Another projection cannot load the checkpoints and has no whole log to
	// rebuild from.
	var logs bytes.Buffer
	_, err = imago.Open(dir, bumped(shop.App()), imago.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err == nil || !strings.Contains(err.Error(), "the log begins at seq") {
		t.Fatalf("open with another projection: %v", err)
	}
	if !strings.Contains(logs.String(), "another projection") {
		t.Errorf("no warning about the skipped checkpoints:\n%s", logs.String())
	}
	// Nor can anything start once the checkpoints are gone.
	for _, f := range mustList(t, dir) {
		os.Remove(f.Path)
	}
	if _, err = imago.Open(dir, shop.App(), opts); err == nil || !strings.Contains(err.Error(), "no usable checkpoint at seq") {
		t.Fatalf("open without checkpoints: %v", err)
	}
	if rep, err := offline.CheckLog(dir, shop.App()); err != nil || rep.OK() || rep.ReplayErr == nil {
		t.Fatalf("log verify without checkpoints: %+v %v", rep, err)
	}
}

// TestLogKeptByDefault: checkpoints alone never remove log entries.
func TestLogKeptByDefault(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{CheckpointsKeep: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	submitAll(t, db, workload.Setup(5, 5))
	for range 2 {
		if _, err := db.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Log().FirstSeq(); got != 1 {
		t.Fatalf("the log begins at %d without truncation", got)
	}
}

func mustList(t *testing.T, dir string) []checkpoint.File {
	t.Helper()
	files, err := checkpoint.List(imago.CheckpointDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestReplicaSlotHoldsBackTruncation: the log a connected replica has yet
// to be sent, or to acknowledge, is kept by truncation; once it has
// acknowledged everything, or has been gone longer than SlotTTL,
// truncation passes it.
func TestReplicaSlotHoldsBackTruncation(t *testing.T) {
	db, err := imago.Open(t.TempDir(), dictionary.App(), imago.Options{TruncateLog: true, CheckpointsKeep: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setKeys(t, db, 1, 10, "v")
	db.ReplicaSeen("r1", "10.0.0.9:5000", 4, true)
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := db.Log().FirstSeq(); got != 5 {
		t.Fatalf("log begins at %d, want 5: the replica was sent up to 4", got)
	}
	if slots := db.ReplicaSlots(); len(slots) != 1 || slots[0].Name != "r1" || !slots[0].Connected {
		t.Fatalf("slots: %+v", slots)
	}
	db.ReplicaSeen("r1", "10.0.0.9:5000", 10, true)
	db.ReplicaAcked("r1", "10.0.0.9:5000", 6)
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := db.Log().FirstSeq(); got != 7 {
		t.Fatalf("log begins at %d, want 7: the replica was sent 10 but acknowledged 6", got)
	}
	db.ReplicaAcked("r1", "10.0.0.9:5000", 10)
	db.ReplicaSeen("r1", "10.0.0.9:5000", 10, false)
	setKeys(t, db, 11, 12, "v")
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := db.Log().FirstSeq(); got != 11 {
		t.Fatalf("log begins at %d, want 11 once the replica acknowledged 10", got)
	}
}
