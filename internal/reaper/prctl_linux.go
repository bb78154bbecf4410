package reaper

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// prctlGetInt runs a prctl option that stores an int at its first argument.
func prctlGetInt(option int, v *int32) error {
	return unix.Prctl(option, uintptr(unsafe.Pointer(v)), 0, 0, 0)
}
