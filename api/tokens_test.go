package api_test

import (
	"strings"
	"testing"

	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

func TestParseTokensRefusesBadFiles(t *testing.T) {
	registry, err := commands.NewRegistry(shop.App().Commands...)
	if err != nil {
		t.Fatal(err)
	}
	const tok = "0123456789abcdef"
	for _, c := range []struct{ file, want string }{
		{"# nothing but comments\n\n", "holds no token"},
		{"short alice\n", "line 1: the token is 5 characters; use at least 16"},
		{tok + "\n", "line 1: want `<token> <actor> [command,command,...]`, got 1 fields"},
		{tok + " alice restock extra\n", "got 4 fields"},
		{tok + " alice restock,fly\n", `line 1: actor alice: no command named "fly"`},
		{"# admin\n" + tok + " alice\n" + tok + " bob\n", "line 3: the token is already given on an earlier line"},
	} {
		if _, err := api.ParseTokens(strings.NewReader(c.file), "tokens", registry); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.file, err, c.want)
		}
	}
	if _, err := api.ParseTokens(strings.NewReader(tok+" alice # all\n"+tok+"x bob restock,pay_order\n"), "tokens", registry); err != nil {
		t.Fatal(err)
	}
}
