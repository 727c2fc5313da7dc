package sql_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/envelope"
)

// logRow is a row of imago.commands as the test expects it from the log.
type logRow struct {
	Seq     uint64
	ID      string
	Name    string
	Version uint32
	Time    time.Time
	Actor   string
	Payload map[string]any
}

func readLog(t *testing.T, f *fixture) []logRow {
	t.Helper()
	var rows []logRow
	err := f.db.Envelopes().Read(1, f.db.View().Seq, func(env envelope.Envelope) error {
		js, err := envelope.PayloadJSON(env.Payload)
		if err != nil {
			return err
		}
		r := logRow{Seq: env.Seq, ID: env.ID, Name: env.Name, Version: env.Version, Time: env.Time, Actor: env.Actor}
		if err := json.Unmarshal(js, &r.Payload); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func queryLog(t *testing.T, f *fixture, where string) []logRow {
	t.Helper()
	rows, err := f.conn.Query("SELECT seq, id, name, version, time, actor, payload FROM imago.commands " + where + " ORDER BY seq")
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	defer rows.Close()
	var out []logRow
	for rows.Next() {
		var r logRow
		var payload string
		if err := rows.Scan(&r.Seq, &r.ID, &r.Name, &r.Version, &r.Time, &r.Actor, &payload); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(payload), &r.Payload); err != nil {
			t.Fatalf("payload of seq %d is not JSON: %v", r.Seq, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return out
}

func TestCommandsTableIsTheLog(t *testing.T) {
	f := newFixture(t)
	all := readLog(t, f)
	if len(all) < 100 {
		t.Fatalf("fixture logged only %d commands", len(all))
	}
	mid := all[len(all)/2].Seq
	cases := []struct {
		where string
		keep  func(r logRow) bool
	}{
		{"", func(logRow) bool { return true }},
		{"WHERE seq BETWEEN 10 AND 20", func(r logRow) bool { return r.Seq >= 10 && r.Seq <= 20 }},
		{"WHERE seq > 2.5 AND seq < 5", func(r logRow) bool { return r.Seq >= 3 && r.Seq <= 4 }},
		{"WHERE seq IN (1, 7, 99999999)", func(r logRow) bool { return r.Seq == 1 || r.Seq == 7 }},
		{"WHERE seq = -1 OR seq > 18446744073709551615", func(logRow) bool { return false }},
		{"WHERE seq >= " + strconv.FormatUint(mid, 10), func(r logRow) bool { return r.Seq >= mid }},
		{"WHERE name = 'place_order'", func(r logRow) bool { return r.Name == "place_order" }},
		{"WHERE name IN ('pay_order', 'ship_order') AND seq < 200", func(r logRow) bool {
			return (r.Name == "pay_order" || r.Name == "ship_order") && r.Seq < 200
		}},
		{"WHERE name > 'r'", func(r logRow) bool { return r.Name > "r" }},
		{"WHERE actor = '' AND version = 1", func(r logRow) bool { return r.Actor == "" && r.Version == 1 }},
	}
	for _, c := range cases {
		var want []logRow
		for _, r := range all {
			if c.keep(r) {
				want = append(want, r)
			}
		}
		got := queryLog(t, f, c.where)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %d rows, want %d (first differing: %s)", c.where, len(got), len(want), firstDiff(got, want))
		}
	}
}

func firstDiff(got, want []logRow) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return strings.ReplaceAll(jsonString(got[i])+" vs "+jsonString(want[i]), "\n", "")
		}
	}
	return "none in the common prefix"
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
