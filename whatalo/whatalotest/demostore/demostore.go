// Package demostore holds the demo store that the fake Whatalo API serves by
// default: demo-store.json, in the seed format documented in package
// whatalotest. It is data only: whatalotest loads it (DemoSeed) and the
// golden tests read it with a fixed clock.
package demostore

import _ "embed"

// data is a string so that no caller can change the embedded bytes.
//
//go:embed demo-store.json
var data string

// JSON returns a copy of the demo store's seed JSON. Its dates are relative
// ("now-3d") and are resolved when the seed is loaded, so the demo always
// looks recent.
func JSON() []byte { return []byte(data) }
