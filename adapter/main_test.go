package adapter

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any of them leaves a goroutine
// running once its Backend is closed.
func TestMain(m *testing.M) {
	// fasthttp (under Fiber, in the golden, fault and overload tests) starts
	// one process-wide goroutine that keeps its Date header current, on its
	// first request; it has no owner to end it. Started here, it belongs to
	// no synctest bubble, whose end it would otherwise wait for.
	if resp, err := fiber.New().Test(httptest.NewRequest("GET", "/", nil)); err == nil {
		resp.Body.Close()
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}
