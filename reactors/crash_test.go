package reactors_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/reactors"
)

// The crash tests run a child process (this test binary, running
// TestReactorCrashChild) whose reactor kills it with SIGKILL at a chosen
// point, then reopen its data directory in this process.

const crashEnv = "IMAGO_REACTOR_CRASH" // "<mode> <dir>" in the child

// auditReactor adds "<key>;" to the entry audit for each set.
func auditReactor(then func()) reactors.Reactor {
	return reactors.Reactor{Name: "audit", Commands: []string{"set"}, React: func(ctx context.Context, d *reactors.Delivery) error {
		if _, err := d.Submit(ctx, &dictionary.Add{Key: "audit", Value: d.Command.(*dictionary.Set).Key + ";"}); err != nil {
			return err
		}
		then()
		return nil
	}}
}

func killSelf() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }

// TestReactorCrashChild is the child's body; it is skipped in a normal run.
func TestReactorCrashChild(t *testing.T) {
	mode, dir, ok := strings.Cut(os.Getenv(crashEnv), " ")
	if !ok {
		t.Skip("run by the reactor crash tests")
	}
	var reactor reactors.Reactor
	switch mode {
	case "before": // killed when the command is durable, before its reaction
		reactor = reactors.Reactor{Name: "audit", Commands: []string{"set"}, React: func(context.Context, *reactors.Delivery) error {
			killSelf()
			return nil
		}}
	case "after": // killed after the reaction submitted its command, before the cursor moved
		reactor = auditReactor(killSelf)
	}
	db, err := imago.Open(dir, dictionary.App(), imago.Options{Reactors: []reactors.Reactor{reactor}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Submit(context.Background(), &dictionary.Set{Key: "order-1", Value: "placed"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Second) // the reactor kills the process long before
	t.Fatal("the reactor did not run")
}

// crashChild runs the child in mode on dir and checks it died by SIGKILL.
func crashChild(t *testing.T, mode, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReactorCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode+" "+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child %s: want death by SIGKILL, got %v:\n%s", mode, err, out)
	}
}

// TestReactorRunsAfterCrash: SIGKILL once a command is durable but before
// its reactor ran; after the restart the reactor gets it.
func TestReactorRunsAfterCrash(t *testing.T) {
	dir := t.TempDir()
	crashChild(t, "before", dir)
	rec := &recorder{}
	db := openReactors(t, dir, imago.Options{}, reactors.Reactor{Name: "audit", Commands: []string{"set"}, React: rec.React})
	defer db.Close()
	if db.View().Seq != 1 {
		t.Fatalf("recovered seq %d, want 1 (the durable set)", db.View().Seq)
	}
	waitFor(t, db, "audit", 1)
	if got := rec.seqs(); len(got) != 1 || got[0] != 1 || rec.got[0].Command.(*dictionary.Set).Key != "order-1" {
		t.Fatalf("after the restart the reactor got %v, want seq 1", got)
	}
}

// TestReactorRedeliveryAfterCrash: SIGKILL after the reaction submitted
// its command but before its cursor moved; the redelivery after the
// restart submits it again, and it is answered from the first, not applied.
func TestReactorRedeliveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	crashChild(t, "after", dir)
	redelivered := make(chan struct{}, 1)
	db := openReactors(t, dir, imago.Options{}, auditReactor(func() { redelivered <- struct{}{} }))
	defer db.Close()
	select {
	case <-redelivered:
	case <-time.After(10 * time.Second):
		t.Fatal("the set was not redelivered after the restart")
	}
	waitFor(t, db, "audit", 2)
	if seq := db.View().Seq; seq != 2 {
		t.Fatalf("log ends at %d, want 2: the set and one add, not a second", seq)
	}
	e, _, _ := dictionary.Entries.Get(db.View().Snapshot, "audit")
	if e.Value != "order-1;" {
		t.Fatalf("audit = %q, want the reaction applied once", e.Value)
	}
	checkCaused(t, db, map[uint64]uint64{2: 1}, "reactor:audit")
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
