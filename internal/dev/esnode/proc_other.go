//go:build unix && !linux

package esnode

import "syscall"

// procAttr puts the node in its own process group (so Stop can signal the
// launcher and the server JVM together) and drops to nobody when we are root.
func procAttr(asRoot bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if asRoot {
		a.Credential = &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}
	}
	return a
}

// groupAlive reports whether any process is in process group pgid.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
