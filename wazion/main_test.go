package wazion_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// fasthttp keeps the Date header fresh with one goroutine per process,
	// started with the first request served and never stopped: it is the
	// library's, not a test's. Started here, it belongs to no synctest
	// bubble, whose end it would otherwise wait for.
	if resp, err := fiber.New().Test(httptest.NewRequest("GET", "/", nil)); err == nil {
		resp.Body.Close()
	}
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}
