package writer

import "testing"

func TestParseDurability(t *testing.T) {
	for in, want := range map[string]string{"always": "always", "": "always", "none": "none", "interval=250ms": "interval=250ms"} {
		d, err := ParseDurability(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	for _, bad := range []string{"sometimes", "interval=", "interval=0s", "interval=-1s", "interval=x"} {
		if _, err := ParseDurability(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
