// Package credential resolves --user USER[:GROUP] into the uid, gid,
// supplementary groups and home directory the child runs with. It reads
// /etc/passwd and /etc/group through os/user, which in a static
// (CGO_ENABLED=0) build is pure Go, so it works in a scratch image.
package credential

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// Resolve reads "USER[:GROUP]", each a name or a number. A numeric user
// missing from /etc/passwd runs with that uid, its gid (or GROUP) and home
// "/". The supplementary groups are the user's groups from /etc/group.
func Resolve(spec string) (*syscall.Credential, string, error) {
	name, group, hasGroup := strings.Cut(strings.TrimSpace(spec), ":")
	if name == "" || (hasGroup && group == "") {
		return nil, "", fmt.Errorf("user %q: want USER or USER:GROUP, names or numbers", spec)
	}
	cred := &syscall.Credential{}
	home := "/"
	u, err := lookupUser(name)
	switch {
	case err == nil:
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
		if u.HomeDir != "" {
			home = u.HomeDir
		}
		if ids, err := u.GroupIds(); err == nil {
			for _, g := range ids {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != cred.Gid {
					cred.Groups = append(cred.Groups, uint32(n))
				}
			}
		}
	case isNumber(name):
		uid, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			return nil, "", fmt.Errorf("user %q: uid out of range", spec)
		}
		cred.Uid, cred.Gid = uint32(uid), uint32(uid)
	default:
		return nil, "", fmt.Errorf("user %q: no user %q in /etc/passwd", spec, name)
	}
	if hasGroup {
		gid, err := resolveGroup(group)
		if err != nil {
			return nil, "", fmt.Errorf("user %q: %v", spec, err)
		}
		cred.Gid = gid
	}
	if cred.Groups == nil {
		// An empty list, not nil: setgroups([]) drops supervise's own
		// supplementary groups instead of leaking them to the child.
		cred.Groups = []uint32{}
	}
	return cred, home, nil
}

func lookupUser(name string) (*user.User, error) {
	if isNumber(name) {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}

func resolveGroup(name string) (uint32, error) {
	if isNumber(name) {
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("gid %q out of range", name)
		}
		return uint32(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("no group %q in /etc/group", name)
	}
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group %q has a bad gid %q", name, g.Gid)
	}
	return uint32(n), nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
