// Package release proves what a release page carries, as a user receives
// it: the packages' fields and files (dpkg-deb, rpm, tar), lintian, the
// same bytes from a second run, the .deb and .rpm installed and run, the
// README's install snippets, and the image index published to a real
// registry and pulled per platform through a real Docker engine. The
// tests carry the dist build tag and read the release from
// $SUPERVISE_DIST (make dist-check); without it they make one with
// scripts/dist.
package release
