package phone

import "testing"

func TestWarmMetadata(t *testing.T) {
	n := NewNormalizer(Options{})
	WarmMetadata()
	WarmMetadata("PE", "ZZ", "")
	if got, err := n.Normalize("987 654 321", "PE"); err != nil || got != "+51987654321" {
		t.Errorf("after warm-up Normalize = %q, %v", got, err)
	}
}
