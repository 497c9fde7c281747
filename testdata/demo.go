// Package testdata holds the project's fixed data: the demo store that the
// fake Whatalo API serves by default (demo-store.json, in the seed format
// documented in package whatalotest) and the golden WAzion responses. It is
// data only: it knows nothing about how the store is served.
package testdata

import _ "embed"

// DemoStore is the demo store's seed JSON. Its dates are relative ("now-3d")
// and are resolved when the seed is loaded, so the demo always looks recent.
//
//go:embed demo-store.json
var DemoStore []byte
