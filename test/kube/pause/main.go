// Command pause is the sandbox ("pause") container of the test node's
// pods: it holds the pod's namespaces and waits for TERM or INT. The test
// node cannot pull registry.k8s.io/pause, so it builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
