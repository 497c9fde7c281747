package adapter_test

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// twoTokens is a generated store of many customers served to WAzion
// through two tokens, with the key limited to perMinute, in memory for a
// synctest bubble.
type twoTokens struct {
	app   *fiber.App
	fake  *whatalotest.Server
	seed  *whatalotest.Seed
	b     *adapter.Backend
	a, bt string // the two tokens
}

func newTwoTokens(t *testing.T, perMinute, customers int) *twoTokens {
	t.Helper()
	// X-RateLimit-Reset reads as a Unix time only past 2001.
	time.Sleep(time.Until(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
	seed := whatalotest.GenerateAt(customers, 14, time.Now())
	fake := whatalotest.NewMemoryServer(t, seed, whatalotest.WithRateLimit(perMinute))
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL), whatalo.WithHTTPClient(fake.Client()),
		whatalo.WithLimiter(whatalo.NewLimiter(perMinute, whatalo.DefaultBackgroundShare)))
	if err != nil {
		t.Fatal(err)
	}
	b := adapter.New(client, adapter.Options{Name: "demo", Region: "DO"})
	t.Cleanup(b.Close)
	tt := &twoTokens{fake: fake, seed: seed, b: b, a: "token-a-0123456789", bt: "token-b-0123456789"}
	tenants, err := wazion.NewTenants([]wazion.Tenant{{Name: "demo", Tokens: []string{tt.a, tt.bt}, Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(tenants, wazion.Options{})
	tt.app = fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(tt.app)
	return tt
}

// info asks sidePanel_CustomerInfo for phone with token and returns the
// answer's error field ("" for none).
func (tt *twoTokens) info(t *testing.T, token, phone string) string {
	t.Helper()
	found, msg, fail := infoAnswer(t, tt.app, token, phone, -1)
	switch {
	case fail != "":
		return fail
	case msg == "" && !found:
		return "not found"
	}
	return msg
}

// TestOneTokenCannotSpendTheStoreBudget: token A floods distinct known
// phones at 60 a second, each a cold lookup, while token B of the same
// store asks a phone every 5 s. A is held to its share of the store's
// budget and told so, and still gets what is cached; B keeps being
// answered.
func TestOneTokenCannotSpendTheStoreBudget(t *testing.T) {
	synctest.Test(t, testOneTokenCannotSpendTheStoreBudget)
}

func testOneTokenCannotSpendTheStoreBudget(t *testing.T) {
	const perMinute, flood = 300, 60 * time.Second
	tt := newTwoTokens(t, perMinute, 4000)
	var phones []string
	for _, c := range tt.seed.Customers {
		if c.Phone != "" {
			phones = append(phones, c.Phone)
		}
	}
	phone := func(i int) string { return phones[i%len(phones)] }

	// A phone A asked before: its answer is cached, and stays A's to
	// have while A is past its share.
	const warm = 150
	if msg := tt.info(t, tt.a, phone(warm)); msg != "" {
		t.Fatalf("warm-up lookup: %s", msg)
	}
	var warmAgain string

	var mu sync.Mutex
	aAnswers, aShare, aOther := 0, 0, map[string]int{}
	bAnswers, bErrors := 0, map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		for i := 0; time.Since(start) < flood; i++ {
			wg.Go(func() {
				msg := tt.info(t, tt.a, phone(200+i))
				mu.Lock()
				defer mu.Unlock()
				aAnswers++
				switch {
				case strings.Contains(msg, "share of the store's Whatalo budget"):
					aShare++
				case msg != "":
					aOther[msg]++
				}
			})
			time.Sleep(time.Second / 60)
		}
	})
	wg.Go(func() {
		time.Sleep(flood / 2)
		warmAgain = tt.info(t, tt.a, phone(warm))
	})
	wg.Go(func() {
		for i := 0; time.Since(start) < flood; i++ {
			msg := tt.info(t, tt.bt, phone(i))
			mu.Lock()
			bAnswers++
			if msg != "" {
				bErrors[msg]++
			}
			mu.Unlock()
			time.Sleep(5 * time.Second)
		}
	})
	wg.Wait()

	failed := 0
	for _, n := range bErrors {
		failed += n
	}
	st := tt.fake.Stats()
	t.Logf("B: %d of %d answered without error (%.0f %%), errors %v; A: %d answers, %d told of its share, other errors %v; upstream %d calls (max %d/min)",
		bAnswers-failed, bAnswers, 100*float64(bAnswers-failed)/float64(bAnswers), bErrors, aAnswers, aShare, aOther, st.Total, st.MaxPerMinute)
	if failed > 0 {
		t.Errorf("token B got %d error answers of %d while token A flooded: %v", failed, bAnswers, bErrors)
	}
	if aShare == 0 {
		t.Errorf("token A was never told it used its share; other errors: %v", aOther)
	}
	if warmAgain != "" {
		t.Errorf("token A, past its share, asked a phone it had asked before and got %q, want the cached answer", warmAgain)
	}
	if st.MaxPerMinute > perMinute || st.RateLimited != 0 {
		t.Errorf("upstream saw %d calls in a minute (limit %d), %d answered 429", st.MaxPerMinute, perMinute, st.RateLimited)
	}
}
