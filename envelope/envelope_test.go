package envelope

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type testCmd struct {
	Key   string   `json:"key"`
	N     int64    `json:"n"`
	Items []string `json:"items,omitempty"`
}

func TestEnvelopeRoundTrip(t *testing.T) {
	payload, err := EncodePayload(&testCmd{Key: "k", N: -7, Items: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	// The payload is a generic map by JSON names, readable without the Go type.
	var m map[string]any
	if err := cbor.Unmarshal(payload, &m); err != nil || m["key"] != "k" || m["n"] != int64(-7) {
		t.Fatalf("payload as a map: %v %v", m, err)
	}
	env := Envelope{Seq: 42, ID: "id-1", Name: "test", Version: 3, Time: time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC),
		Actor: "alice", Cause: "seq:7", Payload: payload}
	data, err := Encode(&env)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(&env)
	if string(again) != string(data) {
		t.Fatal("encoding is not deterministic")
	}
	got, err := Decode(42, data)
	if err != nil || !reflect.DeepEqual(got, env) {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, env)
	}
	var cmd testCmd
	err = DecodePayload(got.Payload, &cmd)
	if err != nil || !reflect.DeepEqual(&cmd, &testCmd{Key: "k", N: -7, Items: []string{"a"}}) {
		t.Fatalf("payload: %+v %v", cmd, err)
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	future, _ := encMode.Marshal(record{Format: 9, Name: "x"})
	noName, _ := encMode.Marshal(record{Format: formatVersion})
	for _, c := range []struct {
		data []byte
		want string
	}{
		{nil, "log entry 5: EOF"},
		{[]byte{0xff}, "log entry 5"},
		{future, "format version 9, this build reads 1"},
		{noName, "no command name"},
	} {
		if _, err := Decode(5, c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%x: got %v, want %q", c.data, err, c.want)
		}
	}
}

// FuzzDecodeEnvelope: log entries are outside bytes on replay; decoding any
// of them must return an envelope or an error, never panic or hang.
func FuzzDecode(f *testing.F) {
	payload, _ := EncodePayload(&testCmd{Key: "k", N: 1})
	good, _ := Encode(&Envelope{Name: "test", Version: 1, ID: "x", Time: time.Unix(1, 0), Payload: payload})
	f.Add(good)
	f.Add([]byte{0xa0})
	f.Add([]byte{0x9f, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(1, data)
		if err != nil {
			return
		}
		if _, err := Encode(&env); err != nil {
			t.Fatalf("a decoded envelope does not encode: %v", err)
		}
		DecodePayload(env.Payload, new(testCmd))
	})
}
