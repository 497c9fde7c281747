package wazion_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

func TestLabelsComplete(t *testing.T) {
	keys := wazion.LabelKeys()
	if len(keys) != reflect.TypeOf(wazion.Labels{}).NumField() {
		t.Fatalf("%d keys for %d fields", len(keys), reflect.TypeOf(wazion.Labels{}).NumField())
	}
	for _, lang := range wazion.SupportedLanguages() {
		l := wazion.LabelsFor(lang)
		if l.LabelLanguages != lang {
			t.Errorf("%s: label_languages = %q", lang, l.LabelLanguages)
		}
		raw, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		// The JSON object has exactly the keys, in table order.
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for i := 0; dec.More(); i++ {
			k, _ := dec.Token()
			v, _ := dec.Token()
			if i >= len(keys) || k != keys[i] {
				t.Fatalf("%s: JSON key %d is %v, want %s", lang, i, k, keys[min(i, len(keys)-1)])
			}
			if s, _ := v.(string); strings.TrimSpace(s) == "" || s != l.Text(keys[i]) {
				t.Errorf("%s: %s = %q, Text gives %q", lang, k, s, l.Text(keys[i]))
			}
		}
		// Six distinct state texts, or the side panel cannot tell them apart.
		states := map[string]bool{}
		for _, k := range []string{wazion.StateNoOrders, wazion.StateConflictive, wazion.StateProcessing,
			wazion.StateNewOrders, wazion.StateRecentOrders, wazion.StateOldOrders} {
			if l.Text(k) == "" {
				t.Errorf("%s: state %s empty", lang, k)
			}
			states[l.Text(k)] = true
		}
		if len(states) != 6 {
			t.Errorf("%s: state texts not distinct: %v", lang, states)
		}
		if lang != wazion.DefaultLanguage && l.CustomerInfo == wazion.LabelsFor("es").CustomerInfo {
			t.Errorf("%s: customer_info not translated", lang)
		}
	}
	if got := wazion.LabelsFor("es").Text("nope"); got != "" {
		t.Errorf("unknown key gives %q", got)
	}
	var nilLabels *wazion.Labels
	if nilLabels.Text("name") != "" {
		t.Error("nil Labels gives text")
	}
}

func TestLabelsReferenceDefaults(t *testing.T) {
	// Spot checks against WAzion's published Spanish table.
	es := wazion.LabelsFor("es")
	for key, want := range map[string]string{
		"label_languages":     "es",
		"customer_info":       "Información del Cliente",
		"order_number":        "Nº de pedido",
		"abandoned_carts":     "Carrito/s abandonado/s",
		"state_conflictive":   "Conflictivo",
		"state_recent_orders": "Pedidos recientes",
		"error":               "Error",
	} {
		if got := es.Text(key); got != want {
			t.Errorf("es %s = %q, want %q", key, got, want)
		}
	}
}

func TestLabelsFor(t *testing.T) {
	for in, want := range map[string]string{
		"":        "es",
		"en":      "en",
		"en-US":   "en",
		"PT_br":   "pt",
		" de ":    "de",
		"FR":      "fr",
		"it-IT":   "it",
		"xx":      "es",
		"english": "es",
	} {
		if got := wazion.LabelsFor(in).LabelLanguages; got != want {
			t.Errorf("LabelsFor(%q) is %q, want %q", in, got, want)
		}
	}
	// Each call gives a copy the caller may change.
	a := wazion.LabelsFor("en")
	a.Name = "changed"
	if wazion.LabelsFor("en").Name == "changed" {
		t.Error("LabelsFor shares its table")
	}
	if got := wazion.SupportedLanguages(); !reflect.DeepEqual(got, []string{"es", "en", "pt", "fr", "de", "it"}) {
		t.Errorf("SupportedLanguages() = %v", got)
	}
}

func TestLabelsTextReadsTheFields(t *testing.T) {
	l := wazion.LabelsFor("en")
	l.Name, l.StateOldOrders = "changed", "also changed"
	if l.Text("name") != "changed" || l.Text(wazion.StateOldOrders) != "also changed" {
		t.Errorf("Text gives %q and %q, not the changed fields", l.Text("name"), l.Text(wazion.StateOldOrders))
	}
	for _, key := range []string{"", "x", "Name", "name ", "state_old_order", strings.Repeat("k", 100)} {
		if got := l.Text(key); got != "" {
			t.Errorf("Text(%q) = %q, want \"\" for a key outside the table", key, got)
		}
	}
}
