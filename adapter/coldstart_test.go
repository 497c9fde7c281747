package adapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// coldRun is what a cold store's first index build took.
type coldRun struct {
	ready    time.Duration // from Run to IndexReady, on the bubble's clock
	calls    int64         // upstream calls until then
	answers  int64         // WAzion answers during the build
	errors   int64         // of which with an error
	building int64         // of which "phone index still building"
}

// TestColdStartUnderLoadBuildsInIdleTime: a cold store of 1,000 customers
// on a 60/min key builds its phone index in about the time it takes idle
// while WAzion asks about 20 distinct phones a second, each of which the
// index would answer but search must be asked for meanwhile.
func TestColdStartUnderLoadBuildsInIdleTime(t *testing.T) {
	idle := coldBuild(t, 0)
	loaded := coldBuild(t, 20)
	t.Logf("idle: ready in %s after %d upstream calls", idle.ready, idle.calls)
	t.Logf("20 req/s: ready in %s after %d upstream calls; %d answers, %d with an error (%d \"still building\")",
		loaded.ready, loaded.calls, loaded.answers, loaded.errors, loaded.building)
	if limit := idle.ready * 3 / 2; loaded.ready > limit {
		t.Errorf("under load the index was ready in %s, more than 1.5 × the %s it takes idle", loaded.ready, idle.ready)
	}
	if loaded.answers == 0 || loaded.errors == loaded.answers {
		t.Errorf("%d answers, %d with an error: the load did not run or every lookup failed", loaded.answers, loaded.errors)
	}
}

// coldBuild runs a cold store's first build in a synctest bubble, under
// perSecond distinct-phone lookups.
func coldBuild(t *testing.T, perSecond int) coldRun {
	t.Helper()
	var out coldRun
	synctest.Test(t, func(t *testing.T) {
		d := buildDemo(t, demoSetup{
			perMinute: 60, share: 0.3, inMemory: true,
			seed: whatalotest.GenerateAt(1000, 1, goldenNow),
			edit: func(o *adapter.Options) {
				o.Index = adapter.IndexOptions{RefreshInterval: time.Hour, RebuildInterval: 10 * time.Hour}
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			d.b.Run(ctx)
		}()
		start := time.Now()
		var ready atomic.Bool
		var wg sync.WaitGroup
		if perSecond > 0 {
			wg.Go(func() {
				tick := time.NewTicker(time.Second / time.Duration(perSecond))
				defer tick.Stop()
				for i := 0; !ready.Load(); i++ {
					<-tick.C
					wg.Go(func() {
						msg := coldLookup(t, d, fmt.Sprintf("+1809%07d", 3000000+i))
						atomic.AddInt64(&out.answers, 1)
						if msg != "" {
							atomic.AddInt64(&out.errors, 1)
						}
						if len(msg) >= 27 && msg[:27] == "phone index still building:" {
							atomic.AddInt64(&out.building, 1)
						}
					})
				}
			})
		}
		for d.b.IndexStatus().State != adapter.IndexReady {
			if time.Since(start) > 10*time.Minute {
				t.Errorf("index still %s after 10 minutes", d.b.IndexStatus().State)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		out.ready = time.Since(start)
		out.calls = d.fake.Stats().Total
		ready.Store(true)
		wg.Wait()
		cancel()
		<-ran
	})
	return out
}

// coldLookup asks sidePanel_CustomerInfo about phone and returns the
// answer's error, checking it is 200 with JSON.
func coldLookup(t *testing.T, d *demo, phone string) string {
	_, msg, fail := infoAnswer(t, d.app, testToken, phone, 15000)
	if fail == noAnswer {
		return fail
	}
	return msg
}

// What infoAnswer says of an answer it could not read.
const (
	noAnswer  = "no answer"
	badAnswer = "bad answer"
)

// infoAnswer asks app's sidePanel_CustomerInfo about phone with token,
// waiting timeoutMs (-1: no limit), and returns the answer's found and
// error fields. fail is noAnswer or badAnswer, the test marked failed,
// when the answer is missing or not 200 with JSON.
func infoAnswer(t *testing.T, app *fiber.App, token, phone string, timeoutMs int) (found bool, msg, fail string) {
	t.Helper()
	q := url.Values{"token": {token}, "phone": {phone}}
	req := httptest.NewRequest(http.MethodGet, "/wazion/"+wazion.EndpointCustomerInfo+"?"+q.Encode(), nil)
	resp, err := app.Test(req, timeoutMs)
	if err != nil {
		t.Errorf("no answer: %v", err)
		return false, "", noAnswer
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Found bool   `json:"found"`
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Errorf("answer %d %q, want 200 with JSON", resp.StatusCode, body)
		return out.Found, out.Error, badAnswer
	}
	return out.Found, out.Error, ""
}
