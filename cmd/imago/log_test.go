package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/offline"
	"github.com/imagodb/imago/wal"
)

// run runs the imago binary and returns its stdout, stderr and error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// randomText is text that compression keeps as it is, so that it can be
// found in the log's files.
func randomText(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// TestLogTools drives `imago log` against a real server and its stopped data
// directory: the running server's directory is refused with a pointer to
// --http-addr; dump through the server equals dump of the stopped directory;
// dumped payloads decode into the commands that were submitted and encode
// back to the logged bytes; verify replays to the server's image hash; and a
// flipped byte in a copy of the directory is reported with its seq.
func TestLogTools(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	client := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(7, 7))
	var target struct {
		seq  uint64
		name string
	}
	cmds := workload.Setup(20, 10)
	gen := workload.New("log", 1, 20, 10)
	for len(cmds) < 400 {
		cmds = append(cmds, gen.Next())
	}
	submitted := map[uint64]commands.Command{}
	for i, c := range cmds {
		if i == 200 {
			target.name = randomText(rng, 48)
			c = &shop.RegisterCustomer{CustomerID: "target", Name: target.name, Email: "t@example.com", Country: "NL"}
		}
		seq, status, err := submit(client, p.httpAddr, fmt.Sprint("k", i), c)
		if err != nil || (status != 200 && status != 422) {
			t.Fatalf("command %d: %d %v", i, status, err)
		}
		if status == 200 {
			submitted[seq] = c
		}
		if i == 200 {
			target.seq = seq
		}
	}

	_, stderr, err := run(t, "log", "stats", "--data", dir)
	if err == nil || !strings.Contains(stderr, "in use by a running server") || !strings.Contains(stderr, "imago log stats --http-addr") {
		t.Errorf("log stats on a running server's directory: %v %q; want a pointer to --http-addr", err, stderr)
	}
	viaServer, stderr, err := run(t, "log", "dump", "--http-addr", p.httpAddr)
	if err != nil {
		t.Fatalf("log dump --http-addr: %v %s", err, stderr)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	dumped, stderr, err := run(t, "log", "dump", "--data", dir)
	if err != nil {
		t.Fatalf("log dump --data: %v %s", err, stderr)
	}
	if dumped != viaServer {
		t.Errorf("dump of the stopped directory differs from the dump through the server")
	}
	checkDumpRoundTrips(t, dir, dumped, submitted)

	out, stderr, err := run(t, "log", "verify", "--data", dir)
	if err != nil {
		t.Fatalf("log verify: %v\n%s%s", err, out, stderr)
	}
	if want := imageHash(t, dir); !strings.Contains(out, "image hash  "+want) || !strings.Contains(out, fmt.Sprintf("replay      %d commands applied", len(submitted))) {
		t.Errorf("log verify printed\n%s\nwant %d commands and image hash %s", out, len(submitted), want)
	}

	damaged := copyDir(t, dir)
	flipIn(t, imago.LogDir(damaged), []byte(target.name))
	out, _, err = run(t, "log", "verify", "--data", damaged)
	if err == nil {
		t.Fatalf("log verify of a damaged log succeeded:\n%s", out)
	}
	m := regexp.MustCompile(`DAMAGED +entries (\d+)\.\.(\d+) cannot be read`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("log verify did not report the damage:\n%s", out)
	}
	from, _ := strconv.ParseUint(m[1], 10, 64)
	to, _ := strconv.ParseUint(m[2], 10, 64)
	if from > target.seq || to < target.seq || to-from > 200 {
		t.Errorf("damage reported at %d..%d; the flipped byte is in entry %d", from, to, target.seq)
	}
	t.Logf("flipped a byte of entry %d; verify says:\n%s", target.seq, out)
}

// checkDumpRoundTrips: every dumped line is the logged envelope, and its
// payload decodes into the submitted command and encodes to the logged bytes.
func checkDumpRoundTrips(t *testing.T, dir, dumped string, submitted map[uint64]commands.Command) {
	t.Helper()
	log, err := offline.OpenLog(dir, shop.App())
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sc := bufio.NewScanner(strings.NewReader(dumped))
	n := 0
	for ; sc.Scan(); n++ {
		var line struct {
			Seq     uint64
			Name    string
			Payload json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		def, _ := registry.Lookup(line.Name)
		cmd := def.New()
		if err := json.Unmarshal(line.Payload, cmd); err != nil {
			t.Fatalf("seq %d: payload %s does not decode into %s: %v", line.Seq, line.Payload, line.Name, err)
		}
		if got, want := fmt.Sprintf("%+v", cmd), fmt.Sprintf("%+v", submitted[line.Seq]); got != want {
			t.Errorf("seq %d: dumped %s, submitted %s", line.Seq, got, want)
		}
		encoded, _ := envelope.EncodePayload(cmd)
		err := log.Read(line.Seq, line.Seq, func(e wal.Entry) error {
			env, err := envelope.Decode(e.Seq, e.Data)
			if err == nil && !bytes.Equal(env.Payload, encoded) {
				t.Errorf("seq %d: the dumped payload encodes to other bytes than the logged ones", line.Seq)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != len(submitted) {
		t.Errorf("dumped %d entries, %d were accepted", n, len(submitted))
	}
}

// imageHash is the hash of the image a server would recover from dir.
func imageHash(t *testing.T, dir string) string {
	t.Helper()
	return imageHashOf(t, dir, shop.App())
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

// flipIn flips one byte in the middle of the only occurrence of data among
// dir's files.
func flipIn(t *testing.T, dir string, data []byte) {
	t.Helper()
	files, _ := os.ReadDir(dir)
	found := 0
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		b, err := os.ReadFile(path)
		if err != nil || f.IsDir() {
			continue
		}
		if at := bytes.Index(b, data); at >= 0 {
			b[at+len(data)/2] ^= 0x01
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			found++
		}
	}
	if found != 1 {
		t.Fatalf("the entry's bytes are in %d files of %s, want 1", found, dir)
	}
}
