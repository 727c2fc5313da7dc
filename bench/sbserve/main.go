// Command sbserve serves the sysbench table (package sbtest) with Imago's
// whole command line, for the comparison with MariaDB (bench/sysbench.sh):
// `sbserve serve --data DIR ...`. It is also the smallest example of a
// program that brings its own app: one call to cli.Main.
package main

import (
	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/cli"
)

func main() { cli.Main(sbtest.App()) }
