package kube

import (
	"fmt"
	"strings"

	"github.com/supervise/supervise/internal/proctree"
)

// ContainerFromMountinfo finds the name of the container supervise runs
// in from the text of /proc/self/mountinfo. The kubelet bind-mounts each
// container's termination log (terminationMessagePath) from
// <kubelet root>/pods/<pod uid>/containers/<container name>/<id>, and a
// mount's root field (the fourth) shows that path. It returns "" when no
// mount has that shape.
func ContainerFromMountinfo(mountinfo string) string {
	for _, m := range proctree.ParseMountinfo(mountinfo) {
		parts := strings.Split(m.Root, "/")
		// [... "pods" UID "containers" NAME ID]
		for i := 0; i+4 < len(parts); i++ {
			if parts[i] == "pods" && parts[i+2] == "containers" && i+5 == len(parts) && parts[i+3] != "" {
				return parts[i+3]
			}
		}
	}
	return ""
}

// selfContainer reads supervise's mounts for ContainerFromMountinfo.
func selfContainer() string { return ContainerFromMountinfo(proctree.Mountinfo()) }

// Container returns the container called name, or, with name empty, the
// pod's only container. When neither finds one, it returns the most
// cautious merge of all the containers (the longest preStop sleep, any
// hook of unknown length, every probe grace) and a warning saying so.
func (p PodInfo) Container(name string) (Container, string) {
	for _, c := range p.Containers {
		if c.Name == name || name == "" && len(p.Containers) == 1 {
			return c, ""
		}
	}
	var names []string
	m := Container{Name: "?"}
	for _, c := range p.Containers {
		names = append(names, c.Name)
		switch {
		case c.PreStop.Kind == HookUnknown:
			m.PreStop = c.PreStop
		case m.PreStop.Kind != HookUnknown && c.PreStop.Sleep > m.PreStop.Sleep:
			m.PreStop = c.PreStop
		}
		m.ProbeGraces = append(m.ProbeGraces, c.ProbeGraces...)
	}
	why := "no container is called " + fmt.Sprintf("%q", name)
	if name == "" {
		why = "which container supervise runs in is not known"
	}
	return m, fmt.Sprintf("%s (the pod has %s): planning with the longest preStop hook of them all; "+
		"set SUPERVISE_KUBE_CONTAINER to the container's name", why, strings.Join(names, ", "))
}
