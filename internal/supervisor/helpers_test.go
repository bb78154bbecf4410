package supervisor

import "golang.org/x/sys/unix"

func waitStatus(v uint32) unix.WaitStatus { return unix.WaitStatus(v) }
