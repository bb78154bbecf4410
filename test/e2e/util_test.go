package e2e

import "os"

func symlink(target, link string) error { return os.Symlink(target, link) }
