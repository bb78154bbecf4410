// Command cardfloor is gofloor plus blank imports of every library
// supervise links, at the versions in go.mod: what those libraries cost
// at start and in memory when supervise uses none of them.
package main

import (
	"os"

	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/collectors"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/prometheus/procfs"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/sys/unix"

	"github.com/supervise/supervise/bench/floor"
)

func main() { os.Exit(floor.Main(os.Args[1:])) }
