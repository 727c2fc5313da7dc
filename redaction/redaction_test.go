package redaction_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/redaction"
)

// users holds a user's email, its length (derived, without the text) and
// a count of sign-ups per domain.
var users = memdb.MustDefine(memdb.TableDef{Name: "users", Columns: []memdb.Column{
	{Name: "user", Type: memdb.Varchar(64)}, {Name: "email", Type: memdb.Varchar(320)}, {Name: "email_len", Type: memdb.BigInt},
}, PrimaryKey: []string{"user"}})

var domains = memdb.MustDefine(memdb.TableDef{Name: "domains", Columns: []memdb.Column{
	{Name: "domain", Type: memdb.Varchar(320)}, {Name: "n", Type: memdb.BigInt},
}, PrimaryKey: []string{"domain"}})

// signUp registers a user; a second sign-up of a user is refused.
type signUp struct {
	User   string `json:"user"`
	Email  string `json:"email"`
	Domain bool   `json:"domain"` // count the email's domain
}

func (c *signUp) Validate() error { return nil }

func (c *signUp) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	if _, found, err := tx.Get(users, c.User); err != nil || found {
		return nil, errors.Join(err, fmt.Errorf("user %s exists", c.User))
	}
	if c.Domain {
		_, d, _ := strings.Cut(c.Email, "@")
		row, found, err := tx.Get(domains, d)
		if err != nil {
			return nil, err
		}
		n := int64(1)
		if found {
			n += row[1].(int64)
		}
		put := tx.Insert
		if found {
			put = tx.Update
		}
		if err := put(domains, memdb.Row{d, n}); err != nil {
			return nil, err
		}
	}
	return nil, tx.Insert(users, memdb.Row{c.User, c.Email, int64(len(c.Email))})
}

// values is a log in memory.
type values [][]byte

func (v values) FirstSeq() uint64 { return 1 }
func (v values) ReadValues(from, to uint64, fn func(uint64, []byte) error) error {
	for s := from; s <= min(to, uint64(len(v))); s++ {
		if err := fn(s, v[s-1]); err != nil {
			return err
		}
	}
	return nil
}

func logOf(t *testing.T, cmds ...*signUp) values {
	var log values
	for i, c := range cmds {
		p, err := envelope.EncodePayload(c)
		if err != nil {
			t.Fatal(err)
		}
		// Keyed, as HTTP clients send them: the remembered body hash is
		// the payload's, and differs in the redacted replay.
		at := time.Unix(int64(i), 0).UTC()
		v, err := envelope.Encode(&envelope.Envelope{Seq: uint64(i + 1), ID: fmt.Sprint("key-", i), Name: "sign_up", Version: 1,
			Time: at, KeyExpires: at.Add(time.Hour), Payload: p})
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, v)
	}
	return log
}

// TestProof: what the proof lets through and what it refuses, with the
// seq, table and column it names.
func TestProof(t *testing.T) {
	registry, err := commands.NewRegistry(commands.Define[signUp]("sign_up", 1))
	if err != nil {
		t.Fatal(err)
	}
	log := logOf(t,
		&signUp{User: "ann", Email: "ann@example.org"},
		&signUp{User: "bob", Email: "bob@example.org", Domain: true},
		&signUp{User: "ann", Email: "ann2@example.org"}, // refused as stored: ann exists
	)
	tests := []struct {
		name    string
		sel     redaction.Selection
		refused string // "seq table.column" of the refusal, "" if proven
	}{
		{"ann's email: only email_len, declared, differs", redaction.Selection{Seqs: []uint64{1}, Fields: []string{"email"}, Derived: []string{"users.email_len"}}, ""},
		{"ann's email, email_len not declared", redaction.Selection{Seqs: []uint64{1}, Fields: []string{"email"}}, "1 users.email_len"},
		{"bob's email: the domain count moves to another row", redaction.Selection{WhereField: "user", WhereValue: "bob", Fields: []string{"email"}, Derived: []string{"users.email_len"}}, "2 domains."},
		{"the refused entry's email: refused either way", redaction.Selection{Seqs: []uint64{3}, Fields: []string{"email"}}, ""},
		{"ann's user name: the later refusal would succeed", redaction.Selection{Seqs: []uint64{1}, Fields: []string{"user"}, Derived: []string{"users.email_len"}}, "1 users."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.sel.Check(); err != nil {
				t.Fatal(err)
			}
			replaced, err := redaction.Select(log, 1, 3, tc.sel)
			if err != nil || len(replaced) == 0 {
				t.Fatalf("select: %v %v", replaced, err)
			}
			image, err := memdb.NewImage(users, domains, applier.IdempotencyKeys)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := redaction.NewProof(registry, nil, image, 0, tc.sel.Derived)
			if err != nil {
				t.Fatal(err)
			}
			err = proof.Run(log, replaced, 3, nil, nil)
			var refused *redaction.RefusedError
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && !errors.As(err, &refused):
				t.Fatalf("want a refusal at %s, got %v", tc.refused, err)
			case tc.refused != "":
				if got := fmt.Sprintf("%d %s.%s", refused.Seq, refused.Table, refused.Column); got != tc.refused {
					t.Fatalf("refusal at %s, want %s: %v", got, tc.refused, err)
				}
				if strings.Contains(err.Error(), "example.org") {
					t.Fatalf("the refusal shows a redacted value: %v", err)
				}
				return
			}
			row, _, _ := proof.Image().Snapshot().Get(users, "ann")
			if tc.sel.Seqs[0] == 1 && row[1] != redaction.Marker(1) {
				t.Fatalf("ann after the proof: %v", row)
			}
		})
	}
}

// TestSelectKeepsTheEnvelope: only the named fields change, to the
// entry's marker; an entry redacted before is not chosen again.
func TestSelectKeepsTheEnvelope(t *testing.T) {
	log := logOf(t, &signUp{User: "ann", Email: "ann@example.org"})
	sel := redaction.Selection{Seqs: []uint64{1}, Fields: []string{"email", "absent"}}
	replaced, err := redaction.Select(log, 1, 1, sel)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := envelope.Decode(1, log[0])
	after, err := envelope.Decode(1, replaced[1])
	if err != nil {
		t.Fatal(err)
	}
	m, _ := envelope.DecodePayloadMap(after.Payload)
	if m["email"] != redaction.Marker(1) || m["user"] != "ann" || len(m) != 3 {
		t.Fatalf("payload after: %v", m)
	}
	after.Payload, before.Payload = nil, nil
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the envelope changed:\n%v\n%v", before, after)
	}
	again, err := redaction.Select(values{replaced[1]}, 1, 1, sel)
	if err != nil || len(again) != 0 {
		t.Fatalf("a redacted entry chosen again: %v %v", again, err)
	}
}

func TestSelectionCheck(t *testing.T) {
	for _, s := range []redaction.Selection{
		{Seqs: []uint64{1}},
		{Fields: []string{"email"}},
		{WhereField: "user", Fields: []string{"email"}},
		{Seqs: []uint64{1}, Fields: []string{"email"}, Derived: []string{"nodot"}},
	} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

// TestProofRefusesMidBatch: a difference in the middle of the second batch
// of a long log is refused at its exact seq, table, row and column (the
// batch that differs is replayed again a command at a time), and a
// redaction whose differences are all derived is proven across batches
// with the snapshots asked for at their seqs.
func TestProofRefusesMidBatch(t *testing.T) {
	registry, err := commands.NewRegistry(commands.Define[signUp]("sign_up", 1))
	if err != nil {
		t.Fatal(err)
	}
	const n, target = 2100, 1500 // the proof applies 1,024 commands per batch
	var cmds []*signUp
	for i := 1; i <= n; i++ {
		c := &signUp{User: fmt.Sprint("u", i), Email: fmt.Sprintf("u%d@d%d.example.org", i, i%7)}
		if i == target {
			c.Domain = true // the domain count moves to another row when the email is redacted
		}
		cmds = append(cmds, c)
	}
	log := logOf(t, cmds...)
	tests := []struct {
		name    string
		sel     redaction.Selection
		refused string // "seq table.column key", "" if proven
	}{
		{"every email, the target's domain count differs", redaction.Selection{WhereField: "email", WhereValue: fmt.Sprintf("u%d@d%d.example.org", target, target%7),
			Fields: []string{"email"}, Derived: []string{"users.email_len"}}, fmt.Sprintf("%d domains. [(a redacted value)]", target)},
		{"an email just before the target's, without email_len declared", redaction.Selection{Seqs: []uint64{target - 1}, Fields: []string{"email"}},
			fmt.Sprintf("%d users.email_len [(a redacted value)]", target-1)},
		{"emails in every batch, email_len declared", redaction.Selection{Seqs: []uint64{5, 1100, 2099}, Fields: []string{"email"}, Derived: []string{"users.email_len"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replaced, err := redaction.Select(log, 1, n, tc.sel)
			if err != nil || len(replaced) == 0 {
				t.Fatalf("select: %v %v", replaced, err)
			}
			image, err := memdb.NewImage(users, domains, applier.IdempotencyKeys)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := redaction.NewProof(registry, nil, image, 0, tc.sel.Derived)
			if err != nil {
				t.Fatal(err)
			}
			stops := map[uint64]bool{1100: true, 2000: true}
			seen := map[uint64]string{}
			err = proof.Run(log, replaced, n, stops, func(seq uint64, red *memdb.Image) error {
				row, _, _ := red.Snapshot().Get(users, "u1100")
				seen[seq] = fmt.Sprint(row[1])
				return nil
			})
			var refused *redaction.RefusedError
			if tc.refused != "" {
				if !errors.As(err, &refused) {
					t.Fatalf("want a refusal at %s, got %v", tc.refused, err)
				}
				if got := fmt.Sprintf("%d %s.%s %v", refused.Seq, refused.Table, refused.Column, refused.Key); got != tc.refused {
					t.Fatalf("refusal at %s, want %s: %v", got, tc.refused, err)
				}
				if proof.Next() != refused.Seq || proof.Commands != refused.Seq-1 {
					t.Fatalf("after a refusal at %d: next %d, %d commands proven", refused.Seq, proof.Next(), proof.Commands)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if proof.Commands != n || proof.Redacted != 3 || proof.Next() != n+1 {
				t.Fatalf("proven %d commands, %d redacted, next %d", proof.Commands, proof.Redacted, proof.Next())
			}
			if seen[1100] != redaction.Marker(1100) || seen[2000] != redaction.Marker(1100) || len(seen) != 2 {
				t.Fatalf("u1100's email at the stops: %v", seen)
			}
			// The redacted replay is the replay of the redacted log.
			want, err := memdb.NewImage(users, domains, applier.IdempotencyKeys)
			if err != nil {
				t.Fatal(err)
			}
			again, err := redaction.NewProof(registry, nil, want, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := again.Run(redaction.Overlay{Values: log, Replaced: replaced}, nil, n, nil, nil); err != nil {
				t.Fatal(err)
			}
			for _, user := range []string{"u5", "u1100", "u2099", "u2100"} {
				a, _, _ := proof.Image().Snapshot().Get(users, user)
				b, _, _ := want.Snapshot().Get(users, user)
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Fatalf("%s: proof's image %v, replay of the redacted log %v", user, a, b)
				}
			}
		})
	}
}
