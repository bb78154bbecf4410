// Package signals names Linux signals and holds supervise's signal policy as
// data: which signals are stop requests, which are never forwarded, and the
// --rewrite table that maps a received signal to the one sent on.
//
// Everything here is pure and safe for concurrent use once built.
package signals
