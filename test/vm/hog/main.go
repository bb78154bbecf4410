// Command hog is the child of the cgroup v2 tests in a virtual machine:
// it says "hog ready", waits until the file named by its argument exists,
// then allocates and touches memory a MiB at a time until the kernel's
// OOM killer ends it. With "sleep" it waits for TERM instead and exits 0.
//
// "hog ns CMD ARG..." runs CMD as PID 1 of a new PID namespace, in a new
// cgroup and mount namespace, and exits with its status: busybox's
// unshare has no cgroup namespace.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "ns" {
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWCGROUP | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "hog ns:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Println("hog ready")
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		fmt.Println("hog got TERM")
		return
	}
	if len(os.Args) > 1 {
		for {
			if _, err := os.Stat(os.Args[1]); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var keep [][]byte
	for i := 1; ; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			if j%4096 == 0 {
				b[j] = 1
			}
		}
		keep = append(keep, b)
		if i%16 == 0 {
			fmt.Printf("hog holds %d MiB\n", i)
		}
	}
}
