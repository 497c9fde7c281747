package wazion

import (
	"strconv"
	"testing"
	"time"
)

func TestAnswersStayBounded(t *testing.T) {
	a := newAnswers(time.Minute)
	now := time.Now()
	for i := range maxAnswers + 100 {
		a.put(answerKey(Request{Endpoint: EndpointCustomerInfo, Phone: strconv.Itoa(i)}), 0, []byte("{}"), true, now)
	}
	if n := a.len(); n == 0 || n > maxAnswers {
		t.Fatalf("holding %d answers, want 1..%d", n, maxAnswers)
	}
	// Expired answers go first, before the live ones are dropped.
	a = newAnswers(time.Second)
	for i := range maxAnswers - 1 {
		a.put(strconv.Itoa(i), 0, nil, true, now)
	}
	later := now.Add(time.Minute)
	a.put("live", 0, nil, true, later)
	a.put("next", 0, nil, true, later)
	if n := a.len(); n != 2 {
		t.Fatalf("holding %d answers after a full map of expired ones, want 2", n)
	}
	if _, ok := a.get("live", later); !ok {
		t.Fatal("the live answer was dropped with the expired ones")
	}
}

func TestAnswerKeyTellsFieldsApart(t *testing.T) {
	reqs := []Request{
		{Endpoint: EndpointCustomerInfo, Phone: "1"},
		{Endpoint: EndpointCustomerInfo, Phone: "1", RelatedPhones: []string{"2"}},
		{Endpoint: EndpointCustomerInfo, Phone: "1", RelatedPhones: []string{"2", "3"}},
		{Endpoint: EndpointCustomerInfo, Phone: "12"},
		{Endpoint: EndpointCustomerInitialInfo, Phone: "1"},
		{Endpoint: EndpointCustomerInitialInfo, Phone: "1", Order: "1042"},
		{Endpoint: EndpointCustomerInitialInfo, Phone: "1", Email: "1042"},
		{Endpoint: EndpointSearchProducts, Query: "x"},
		{Endpoint: EndpointSearchProducts, Query: "x", Format: "ai"},
		{Endpoint: EndpointSearchProducts, Query: "x", TargetLocale: "ai"},
	}
	seen := map[string]int{}
	for i, r := range reqs {
		k := answerKey(r)
		if j, dup := seen[k]; dup {
			t.Errorf("requests %d and %d share a key: %+v, %+v", j, i, reqs[j], r)
		}
		seen[k] = i
	}
}

func TestAnswersDropTheOldestWhenFull(t *testing.T) {
	a := newAnswers(time.Minute)
	now := time.Now()
	for i := range maxAnswers {
		a.put(strconv.Itoa(i), 0, nil, true, now)
	}
	a.put("0", 0, []byte("again"), true, now) // written again: newest now
	a.put("new", 0, nil, true, now)
	if n := a.len(); n != maxAnswers {
		t.Fatalf("holding %d answers, want %d", n, maxAnswers)
	}
	if _, ok := a.get("1", now); ok {
		t.Error("the oldest answer was kept past the bound")
	}
	for _, key := range []string{"0", "2", "new"} {
		if _, ok := a.get(key, now); !ok {
			t.Errorf("answer %q dropped, though newer than the oldest", key)
		}
	}
	if v, _ := a.get("0", now); string(v.body) != "again" {
		t.Errorf("answer written again holds %q", v.body)
	}
	if _, ok := a.get("new", now.Add(time.Minute)); ok {
		t.Error("answer served at the end of its lifetime")
	}
	a.forget()
	if n := a.len(); n != 0 {
		t.Errorf("holding %d answers after forget", n)
	}
	a.put("late", 0, nil, true, now)
	if _, ok := a.get("late", now); ok {
		t.Error("answer begun before forget was kept")
	}
}
