package wazion_test

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// seriesObserver is a SeriesObserver that records what each Series and
// ObserveRequest were told.
type seriesObserver struct {
	mu      sync.Mutex
	asked   map[[2]string]int    // Series calls by endpoint, store
	counted map[[3]string]int    // by endpoint, store, outcome
	answers map[[2]string][2]int // built, reused by endpoint, store
}

func newSeriesObserver() *seriesObserver {
	return &seriesObserver{asked: map[[2]string]int{}, counted: map[[3]string]int{}, answers: map[[2]string][2]int{}}
}

func (o *seriesObserver) ObserveRequest(endpoint, store, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counted[[3]string{endpoint, store, outcome}]++
}

func (o *seriesObserver) Series(endpoint, store string) wazion.Series {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked[[2]string{endpoint, store}]++
	return &recordingSeries{o: o, endpoint: endpoint, store: store}
}

type recordingSeries struct {
	o               *seriesObserver
	endpoint, store string
}

func (s *recordingSeries) ObserveRequest(outcome string, _ time.Duration) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	s.o.counted[[3]string{s.endpoint, s.store, "series " + outcome}]++
}

func (s *recordingSeries) ObserveAnswer(reused bool) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	k := [2]string{s.endpoint, s.store}
	n := s.o.answers[k]
	if reused {
		n[1]++
	} else {
		n[0]++
	}
	s.o.answers[k] = n
}

// A SeriesObserver is asked once per store and endpoint, per Server, and
// counts every request of a store through its Series; a request that
// names no store goes to ObserveRequest.
func TestSeriesObserverCountsEachStore(t *testing.T) {
	ts, err := wazion.NewTenants([]wazion.Tenant{
		{Name: "A", Tokens: []string{tokenA}, Backend: &fakeBackend{name: "A"}, AnswerTTL: time.Hour},
		{Name: "B", Tokens: []string{tokenB}, Backend: &fakeBackend{name: "B"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(o *seriesObserver) *fiber.App {
		srv := wazion.NewServer(ts, wazion.Options{Observer: o})
		app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
		srv.Routes(app)
		return app
	}
	first, second := newSeriesObserver(), newSeriesObserver()
	app1, app2 := serve(first), serve(second)
	info := path(wazion.EndpointCustomerInfo) + "?phone=%2B34612345678&token="
	for range 3 {
		do(t, app1, get(info+tokenA))
	}
	do(t, app1, get(path(wazion.EndpointCustomerInitialInfo)+"?phone=%2B34612345678&token="+tokenA))
	do(t, app1, get(info+tokenB))
	do(t, app1, get(info+"nope-nope-nope-nope"))
	do(t, app2, get(info+tokenA))

	wantAsked := map[[2]string]int{
		{wazion.EndpointCustomerInfo, "A"}:        1,
		{wazion.EndpointCustomerInitialInfo, "A"}: 1,
		{wazion.EndpointCustomerInfo, "B"}:        1,
	}
	if !maps.Equal(first.asked, wantAsked) {
		t.Errorf("first Server asked for %v, want %v", first.asked, wantAsked)
	}
	wantCounted := map[[3]string]int{
		{wazion.EndpointCustomerInfo, "A", "series found"}:            3,
		{wazion.EndpointCustomerInitialInfo, "A", "series found"}:     1,
		{wazion.EndpointCustomerInfo, "B", "series found"}:            1,
		{wazion.EndpointCustomerInfo, "", wazion.OutcomeUnauthorized}: 1,
	}
	if !maps.Equal(first.counted, wantCounted) {
		t.Errorf("first Server counted %v, want %v", first.counted, wantCounted)
	}
	if got, want := first.answers[[2]string{wazion.EndpointCustomerInfo, "A"}], [2]int{1, 2}; got != want {
		t.Errorf("store A's answers built, reused: %v, want %v", got, want)
	}
	// The same stores under another Server count with its observer.
	if want := map[[2]string]int{{wazion.EndpointCustomerInfo, "A"}: 1}; !maps.Equal(second.asked, want) {
		t.Errorf("second Server asked for %v, want %v", second.asked, want)
	}
	if want := map[[3]string]int{{wazion.EndpointCustomerInfo, "A", "series found"}: 1}; !maps.Equal(second.counted, want) {
		t.Errorf("second Server counted %v, want %v", second.counted, want)
	}
}
