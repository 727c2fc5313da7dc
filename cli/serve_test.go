package cli

import "testing"

func TestCheckpointEveryFlag(t *testing.T) {
	for _, c := range []struct {
		in              string
		commands, bytes uint64
		bad             bool
	}{
		{in: "0"},
		{in: "100000", commands: 100000},
		{in: "256MiB", bytes: 256 << 20},
		{in: "1GB", bytes: 1e9},
		{in: "100000, 64KiB", commands: 100000, bytes: 64 << 10},
		{in: "512B", bytes: 512},
		{in: "lots", bad: true},
		{in: "-5", bad: true},
		{in: "10TiB", bad: true},
	} {
		var v checkpointEvery
		err := v.Set(c.in)
		if (err != nil) != c.bad || (!c.bad && (v.commands != c.commands || v.bytes != c.bytes)) {
			t.Errorf("%q: %+v, %v", c.in, v, err)
		}
	}
}
