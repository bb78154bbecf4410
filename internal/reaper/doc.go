// Package reaper is the only caller of wait4 in supervise. It reaps every
// exited child of the process (as PID 1 or as a subreaper, that includes
// orphaned descendants) and hands each exit to a callback, so the main
// child's status can never be taken by anyone else.
//
// SIGCHLD is a doorbell, not a count: the kernel merges pending SIGCHLDs,
// so on each ring the caller runs ReapAll, which loops until nothing is
// left to reap.
package reaper
