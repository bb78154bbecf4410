// Command gofloor is the Go runtime's floor for an init: see package floor.
package main

import (
	"os"

	"github.com/supervise/supervise/bench/floor"
)

func main() { os.Exit(floor.Main(os.Args[1:])) }
