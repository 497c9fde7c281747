package adapter

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any of them leaves a goroutine
// running once its Backend is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp (under Fiber, in the golden and overload tests) starts
		// one process-wide goroutine that keeps its Date header current;
		// it has no owner to end it.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}
