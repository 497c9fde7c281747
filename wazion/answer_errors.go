package wazion

import "time"

// ErrorObserver is implemented by an Observer that also wants each answer
// that carried an error: WAzion counts them per shop and disables its CRM
// endpoints after a run of them, so the store owner needs to see which
// answers failed and why. It is called on the request path after the
// answer is written; implementations must be fast and safe for concurrent
// use.
type ErrorObserver interface {
	ObserveAnswerError(AnswerError)
}

// AnswerError is one answer sent to WAzion with an "error". It holds
// nothing secret: the phone is masked and Error is the text WAzion got.
type AnswerError struct {
	Time     time.Time
	Store    string
	Endpoint string
	Outcome  string // one of the Outcome* values
	Phone    string // masked with MaskPhone; empty when the request had none
	Error    string
}

// observeError tells an ErrorObserver about rec when its answer carried an
// error for a known store. A bad token is not reported: it names no store.
func (s *Server) observeError(rec *record) {
	eo := s.errorObs
	if eo == nil || rec.errMsg == "" || rec.store == "" {
		return
	}
	e := AnswerError{Time: rec.start, Store: rec.store, Endpoint: rec.endpoint, Outcome: rec.outcome, Error: rec.errMsg}
	if rec.phone != "" {
		e.Phone = MaskPhone(rec.phone)
	}
	eo.ObserveAnswerError(e)
}
