//go:build unix && !linux

package devproc

import "syscall"

// SysProcAttr puts a child in its own process group (so Terminate can
// signal all it spawns) and runs it with cred when not nil.
func SysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// GroupAlive reports whether any process is in process group pgid.
func GroupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
