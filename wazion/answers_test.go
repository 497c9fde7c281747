package wazion_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// answerObserver also counts reused answers.
type answerObserver struct {
	recordingObserver
	mu             sync.Mutex
	reused, missed int
}

func (o *answerObserver) ObserveAnswer(endpoint, store string, reused bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if reused {
		o.reused++
	} else {
		o.missed++
	}
}

func answerStore(t *testing.T, fake *fakeBackend, ttl time.Duration, opts wazion.Options) (*fiber.App, *wazion.Tenants) {
	t.Helper()
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: fake, AnswerTTL: ttl}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, opts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return app, ts
}

const infoURL = "/wazion/sidePanel_CustomerInfo?token=" + tokenA + "&phone=%2B18095551234"

func TestRecentAnswerIsReused(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	var logs logBuffer
	obs := &answerObserver{}
	app, _ := answerStore(t, fake, time.Minute, wazion.Options{Logger: newLogger(&logs), Observer: obs})

	first := do(t, app, get(infoURL))
	// The same request in another transport is the same request.
	second := do(t, app, postJSON("/wazion/sidePanel_CustomerInfo", `{"token":"`+tokenA+`","phone":"+18095551234"}`))
	if fake.calls() != 1 {
		t.Fatalf("backend called %d times for one request repeated, want 1", fake.calls())
	}
	if !bytes.Equal(first.raw, second.raw) {
		t.Errorf("reused answer differs:\n%s\n%s", first.raw, second.raw)
	}
	if o := obs.last(t); o.outcome != wazion.OutcomeFound {
		t.Errorf("reused answer observed as %q, want %q", o.outcome, wazion.OutcomeFound)
	}
	if obs.reused != 1 || obs.missed != 1 {
		t.Errorf("answers observed: reused %d, missed %d; want 1 and 1", obs.reused, obs.missed)
	}
	lines := logs.lines(t)
	if len(lines) != 2 || lines[0]["answer"] != nil || lines[1]["answer"] != "recent" {
		t.Errorf("access log should mark only the reused answer: %v", lines)
	}

	// Other parameters, another endpoint: other answers.
	do(t, app, get(infoURL+"&relatedphones=%5B%22%2B18095550000%22%5D"))
	do(t, app, get("/wazion/ai_CustomerInitialInfo?token="+tokenA+"&phone=%2B18095551234"))
	if fake.calls() != 3 {
		t.Errorf("backend called %d times, want 3: related phones and endpoint are part of the request", fake.calls())
	}
}

func TestRecentAnswersKeepNoErrors(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	fake.customerInfo = func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		return nil, errors.New("upstream down")
	}
	app, _ := answerStore(t, fake, time.Minute, wazion.Options{})
	for range 2 {
		if a := do(t, app, get(infoURL)); a.str("error") == "" {
			t.Fatalf("want an error answer, got %s", a.raw)
		}
	}
	if fake.calls() != 2 {
		t.Errorf("backend called %d times, want 2: an error answer must not be kept", fake.calls())
	}
}

// TestRecentAnswersExpireAndAreForgotten runs in virtual time (synctest):
// a kept answer lives exactly its TTL.
func TestRecentAnswersExpireAndAreForgotten(t *testing.T) {
	synctest.Test(t, testRecentAnswersExpireAndAreForgotten)
}

func testRecentAnswersExpireAndAreForgotten(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app, _ := answerStore(t, fake, 50*time.Millisecond, wazion.Options{})
	do(t, app, get(infoURL))
	time.Sleep(50*time.Millisecond - time.Nanosecond)
	do(t, app, get(infoURL))
	if fake.calls() != 1 {
		t.Fatalf("backend called %d times, want 1: the first answer is kept for its whole TTL", fake.calls())
	}
	time.Sleep(time.Nanosecond)
	do(t, app, get(infoURL))
	if fake.calls() != 2 {
		t.Fatalf("backend called %d times, want 2: the first answer expired", fake.calls())
	}

	app, ts := answerStore(t, fake, time.Minute, wazion.Options{})
	do(t, app, get(infoURL))
	ts.Forget("A")
	do(t, app, get(infoURL))
	if fake.calls() != 4 {
		t.Fatalf("backend called %d times, want 4: Forget drops the kept answer", fake.calls())
	}

	// An answer built while the store's data changed is not kept.
	release := make(chan struct{})
	fake.customerInfo = func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		<-release
		return &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{{Name: "old"}}}, nil
	}
	app, ts = answerStore(t, fake, time.Minute, wazion.Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Test(get(infoURL), 5000)
	}()
	synctest.Wait() // the request is inside the Backend
	if fake.calls() != 5 {
		t.Fatalf("backend called %d times, want 5", fake.calls())
	}
	ts.Forget("A")
	close(release)
	<-done
	do(t, app, get(infoURL))
	if fake.calls() != 6 {
		t.Fatalf("backend called %d times, want 6: an answer begun before Forget must not be kept", fake.calls())
	}
}

func TestNoAnswerTTLKeepsNothing(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app, _ := answerStore(t, fake, 0, wazion.Options{})
	do(t, app, get(infoURL))
	do(t, app, get(infoURL))
	if fake.calls() != 2 {
		t.Errorf("backend called %d times, want 2 without AnswerTTL", fake.calls())
	}
}
