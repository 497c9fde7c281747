package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric names the bench reads from the service's /metrics.
const (
	metricCacheLookups = "whatalo_wazion_cache_lookups_total"
	metricRequests     = "whatalo_wazion_requests_total"
	metricUpstream     = "whatalo_wazion_upstream_requests_total"
	metricIndexCusts   = "whatalo_wazion_index_customers"
	metricRedisCalls   = "whatalo_wazion_redis_calls_total"
	metricLostWrites   = "whatalo_wazion_shared_cache_lost_writes_total"
)

// Cache results that answered from the cache, and those that count as a
// lookup at all (refresh_error is a background event, not a lookup).
var (
	cacheServed  = []string{"hit", "shared_hit", "stale", "stale_error"}
	cacheLookups = []string{"hit", "shared_hit", "stale", "stale_error", "miss", "error", "bypass"}
)

// sample is one counter or gauge value with its labels.
type sample struct {
	labels map[string]string
	value  float64
}

// scrape is one reading of /metrics: counters and gauges by name.
type scrape map[string][]sample

// scrapeMetrics reads the Prometheus text exposition at url.
func scrapeMetrics(ctx context.Context, url string) (scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ctlClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the Prometheus text format.
func parseMetrics(r io.Reader) (scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := scrape{}
	for name, fam := range families {
		for _, m := range fam.GetMetric() {
			var v float64
			switch fam.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			labels := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], sample{labels: labels, value: v})
		}
	}
	return out, nil
}

// sum adds the samples of name whose labels match every key, value pair
// of match; a value list matches any of its values.
func (s scrape) sum(name string, match map[string][]string) float64 {
	var total float64
next:
	for _, smp := range s[name] {
		for k, vals := range match {
			got := smp.labels[k]
			ok := false
			for _, v := range vals {
				if got == v {
					ok = true
					break
				}
			}
			if !ok {
				continue next
			}
		}
		total += smp.value
	}
	return total
}

// has reports whether name was exposed at all.
func (s scrape) has(name string) bool { return len(s[name]) > 0 }

// cacheDelta is the cache activity between two scrapes.
type cacheDelta struct {
	served, lookups float64
	byResult        map[string]float64
}

// hitRatio is the share of lookups answered from the cache (fresh or
// stale); 0 when there were none.
func (d cacheDelta) hitRatio() float64 {
	if d.lookups == 0 {
		return 0
	}
	return d.served / d.lookups
}

// cacheBetween returns the cache activity of store between before and
// after.
func cacheBetween(before, after scrape, store string) cacheDelta {
	d := cacheDelta{byResult: map[string]float64{}}
	for _, r := range cacheLookups {
		m := map[string][]string{"store": {store}, "result": {r}}
		v := after.sum(metricCacheLookups, m) - before.sum(metricCacheLookups, m)
		d.byResult[r] = v
		d.lookups += v
	}
	for _, r := range cacheServed {
		d.served += d.byResult[r]
	}
	return d
}

// labelDelta returns the increase of counter name between two scrapes,
// summed by the value of one label; zero increases are left out.
func labelDelta(before, after scrape, name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, smp := range after[name] {
		out[smp.labels[label]] += smp.value
	}
	for _, smp := range before[name] {
		out[smp.labels[label]] -= smp.value
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// outcomesBetween returns the WAzion requests by outcome between two
// scrapes.
func outcomesBetween(before, after scrape) map[string]float64 {
	return labelDelta(before, after, metricRequests, "outcome")
}
