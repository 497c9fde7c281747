package cache

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Cache starts ends with its Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
