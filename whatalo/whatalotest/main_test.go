package whatalotest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any of them leaves a goroutine
// running: every goroutine the fake starts has an owner that ends it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
