package whatalotest

import (
	"encoding/json"
	"net/http"
)

// The /_fake routes drive the fake from outside a Go test (the standalone
// binary, load tests, curl). They need no API key and are not counted.

func (f *Fake) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, f.Stats())
}

func (f *Fake) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, f.CurrentFaults())
}

func (f *Fake) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var ft Faults
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ft); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("VALIDATION_ERROR", "faults: "+err.Error(), nil))
		return
	}
	if err := ft.validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("VALIDATION_ERROR", "faults: "+err.Error(), nil))
		return
	}
	f.SetFaults(ft)
	writeJSON(w, http.StatusOK, f.CurrentFaults())
}

func (f *Fake) handleReset(w http.ResponseWriter, r *http.Request) {
	f.Reset()
	writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
}

func (f *Fake) handleEmit(w http.ResponseWriter, r *http.Request) {
	var d Delivery
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&d); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("VALIDATION_ERROR", "emit: "+err.Error(), nil))
		return
	}
	status, err := f.Emit(r.Context(), d)
	res := map[string]any{"status": status, "delivered": err == nil && status >= 200 && status < 300}
	if err != nil {
		res["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, res)
}
