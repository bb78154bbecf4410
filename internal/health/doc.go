// Package health serves supervise's HTTP endpoints and runs its checks.
//
//   - /livez (and /healthz): 200 while the child runs or a restart is
//     pending, and the heartbeat file, if any, is fresh. It stays 200 while
//     draining, so an orchestrator does not kill a drain.
//   - /readyz: 200 when live, not draining, and every readiness check
//     (--ready-tcp, --health-cmd) passed last time it ran.
//   - /metrics: Prometheus text.
//
// "?verbose" lists each check the Kubernetes way: "[+]child ok",
// "[-]heartbeat failed: stale 75s > 60s". Readiness checks run on their own
// interval in a Checker goroutine and are cached, so a probe never forks or
// dials. The server has read, write and idle timeouts, a header size cap
// and a connection cap, and it only reads the supervisor's published
// Status: no client, however slow, can delay signals, the ladder or reaping.
//
// Client is the other side: `supervise check`.
package health
