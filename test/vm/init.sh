#!/bin/busybox sh
# The init of the cgroup v2 test machine (test/vm): a pure cgroup v2
# hierarchy, supervise as PID 1 of a new PID namespace in a cgroup of each
# case's making, and every result on the serial console as "CASE| line".
# The test reads the console; this script powers the machine off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
ip link set lo up
CG=/sys/fs/cgroup
echo "+memory +pids" > $CG/cgroup.subtree_control
echo "VM| kernel $(uname -r), cgroup2 controllers: $(cat $CG/cgroup.controllers)"

# limit CGROUP BYTES: a memory limit, and no swap to escape to.
limit() {
  mkdir -p "$1"
  echo "$2" > "$1/memory.max"
  [ -f "$1/memory.swap.max" ] && echo 0 > "$1/memory.swap.max"
}

# waitfor FILE TEXT: wait up to 20 s for TEXT in FILE.
waitfor() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 400 ] && { echo "VM| timeout waiting for '$2' in $1"; return 1; }
    usleep 50000
  done
}

# show CASE: the case's log, exit status, report and memory.events.
show() {
  sed "s/^/$1| /" /tmp/$1.log
  echo "$1.rc| $(cat /tmp/$1.rc 2>/dev/null)"
  [ -f /tmp/$1.report ] && sed "s/^/$1.report| /" /tmp/$1.report
}

# scrape CASE PORT: the cgroup and collector series of a live /metrics.
scrape() {
  wget -q -O /tmp/$1.metrics "http://127.0.0.1:$2/metrics" || echo "$1.metrics| wget failed"
  grep -E '^supervise_(cgroup|collector_errors)' /tmp/$1.metrics | sed "s/^/$1.metrics| /"
}

# A: a cgroup with memory.max 64M; supervise in it, no cgroup namespace.
# Metrics first, then the child allocates until the OOM killer ends it.
limit $CG/a 64M
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/a/cgroup.procs; exec /bin/supervise --listen 127.0.0.1:9701 --termination-log /tmp/a.report -- /bin/hog /tmp/go-a"
 echo $? > /tmp/a.rc) > /tmp/a.log 2>&1 &
waitfor /tmp/a.log "hog ready" && scrape a 9701
touch /tmp/go-a; wait
echo "a.events| $(grep oom_kill $CG/a/memory.events)"
show a

# B: the same in a cgroup namespace with its own cgroup2 mount, as Docker
# and containerd run containers: /proc/self/cgroup says 0::/.
limit $CG/b 64M
(sh -c "echo 0 > $CG/b/cgroup.procs; exec /bin/hog ns sh -c 'mount -t proc proc /proc && umount /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && cat /proc/self/cgroup && exec /bin/supervise --listen 127.0.0.1:9702 --termination-log /tmp/b.report -- /bin/hog /tmp/go-b'"
 echo $? > /tmp/b.rc) > /tmp/b.log 2>&1 &
waitfor /tmp/b.log "hog ready" && scrape b 9702
touch /tmp/go-b; wait
show b

# L: a limit above the cgroup namespace only (a pod's 64M, the
# container's own cgroup unlimited), as the kubelet sets a pod's limit:
# inside the namespace no limit is visible, and the OOM diagnosis says so
# rather than "none".
limit $CG/l 64M
echo +memory > $CG/l/cgroup.subtree_control
mkdir $CG/l/c
(sh -c "echo 0 > $CG/l/c/cgroup.procs; exec /bin/hog ns sh -c 'mount -t proc proc /proc && umount /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec /bin/supervise --listen off --termination-log /tmp/l.report -- /bin/hog /tmp/go-l'"
 echo $? > /tmp/l.rc) > /tmp/l.log 2>&1 &
waitfor /tmp/l.log "hog ready"
touch /tmp/go-l; wait
show l

# C: no limit anywhere: usage, no limit series. Then a stop: the ladder
# on this kernel.
mkdir $CG/c
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/c/cgroup.procs; exec /bin/supervise --listen 127.0.0.1:9703 --grace-period 5s -- /bin/hog sleep"
 echo $? > /tmp/c.rc) > /tmp/c.log 2>&1 &
waitfor /tmp/c.log "hog ready" && scrape c 9703
kill -TERM $(pidof supervise); wait
show c

# P: a limit on the parent only (a pod's or a slice's), the child
# cgroup unlimited: the diagnosis names the parent.
limit $CG/p 64M
echo +memory > $CG/p/cgroup.subtree_control
mkdir $CG/p/c
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/p/c/cgroup.procs; exec /bin/supervise --listen 127.0.0.1:9704 --termination-log /tmp/p.report -- /bin/hog /tmp/go-p"
 echo $? > /tmp/p.rc) > /tmp/p.log 2>&1 &
waitfor /tmp/p.log "hog ready" && scrape p 9704
touch /tmp/go-p; wait
show p

# Q: a tighter limit above a looser one (a pod's 64M over a container's
# 128M): the limit that applies, and is reported, is the parent's.
limit $CG/q 64M
echo +memory > $CG/q/cgroup.subtree_control
mkdir $CG/q/c
echo 128M > $CG/q/c/memory.max
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/q/c/cgroup.procs; exec /bin/supervise --listen 127.0.0.1:9707 --grace-period 5s -- /bin/hog sleep"
 echo $? > /tmp/q.rc) > /tmp/q.log 2>&1 &
waitfor /tmp/q.log "hog ready" && scrape q 9707
kill -TERM $(pidof supervise); wait
show q

# G: memory.oom.group = 1, as the kubelet sets it: supervise says so at
# start; the OOM kill then ends supervise with its child.
limit $CG/g 64M
echo 1 > $CG/g/memory.oom.group
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/g/cgroup.procs; exec /bin/supervise --listen off --termination-log /tmp/g.report -- /bin/hog /tmp/go-g"
 echo $? > /tmp/g.rc) > /tmp/g.log 2>&1 &
waitfor /tmp/g.log "hog ready"
touch /tmp/go-g; wait
echo "g.events| $(grep oom_kill $CG/g/memory.events)"
show g

# E: a cgroup whose parent does not enable the memory controller for it:
# the parent's accounting is read, and supervise says so.
mkdir $CG/nomem
echo +pids > $CG/nomem/cgroup.subtree_control
mkdir $CG/nomem/e
(unshare -p -f --mount-proc sh -c "echo 0 > $CG/nomem/e/cgroup.procs; exec /bin/supervise --listen 127.0.0.1:9705 --grace-period 5s -- /bin/hog sleep"
 echo $? > /tmp/e.rc) > /tmp/e.log 2>&1 &
waitfor /tmp/e.log "hog ready" && scrape e 9705 && scrape e 9705
kill -TERM $(pidof supervise); wait
show e

# N: no accounting at all: a cgroup namespace whose /sys/fs/cgroup is the
# whole hierarchy, mounted outside it (0::/ is its root, which accounts
# nothing). Said once at start; no cgroup series, no collector errors.
mkdir $CG/n
(sh -c "echo 0 > $CG/n/cgroup.procs; exec /bin/hog ns sh -c 'mount -t proc proc /proc && cat /proc/self/cgroup && exec /bin/supervise --listen 127.0.0.1:9706 --grace-period 5s -- /bin/hog sleep'"
 echo $? > /tmp/n.rc) > /tmp/n.log 2>&1 &
waitfor /tmp/n.log "hog ready" && scrape n 9706 && scrape n 9706
kill -TERM $(pidof supervise); wait
show n

# I386: the 386 binary on a kernel with IA32 emulation (Debian's has it;
# the build machine's may not): its version, and as PID 1 of a new PID
# namespace a stop passed to a TERM-trapping child, whose status it gives.
/bin/supervise-386 version 2>&1 | sed "s/^/i386| /"
(unshare -p -f --mount-proc /bin/supervise-386 --listen off --grace-period 10s -- \
   sh -c 'trap "echo child got TERM; exit 3" TERM; echo child ready; while :; do usleep 100000; done'
 echo $? > /tmp/i386.rc) > /tmp/i386.log 2>&1 &
waitfor /tmp/i386.log "child ready"
kill -TERM $(pidof supervise-386); wait
show i386

echo "VM| done"
poweroff -f
