package tpcc_test

import (
	"math/rand/v2"
	"testing"

	"github.com/imagodb/imago/examples/tpcc"
)

// TestLastName: the syllables of clause 4.3.2.3, with its own example.
func TestLastName(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "BARBARBAR"}, {371, "PRICALLYOUGHT"}, {999, "EINGEINGEING"}, {40, "BARPRESBAR"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if got := tpcc.LastName(c.n); got != c.want {
				t.Errorf("LastName(%d) = %s, want %s", c.n, got, c.want)
			}
		})
	}
}

// TestNURand: values stay in [x, y] and are not uniform: with A = 255 over
// 0..999 the most frequent value is drawn far more often than 1/1000.
func TestNURand(t *testing.T) {
	for _, c := range []struct{ a, x, y, c int }{{255, 0, 999, 123}, {1023, 1, 3000, 259}, {8191, 1, 100_000, 7911}, {1023, 1, 30, 5}} {
		r := rand.New(rand.NewPCG(1, 2))
		counts := map[int]int{}
		const draws = 100_000
		for range draws {
			v := tpcc.NURand(r, c.a, c.x, c.y, c.c)
			if v < c.x || v > c.y {
				t.Fatalf("NURand(%d, %d, %d, %d) = %d: out of range", c.a, c.x, c.y, c.c, v)
			}
			counts[v]++
		}
		top := 0
		for _, n := range counts {
			top = max(top, n)
		}
		if uniform := draws / (c.y - c.x + 1); c.y-c.x > 100 && top < 3*uniform {
			t.Errorf("NURand(%d, %d, %d): the most frequent value was drawn %d times, a uniform draw gives %d", c.a, c.x, c.y, top, uniform)
		}
	}
}
