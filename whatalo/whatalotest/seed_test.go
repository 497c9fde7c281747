package whatalotest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func TestLoadSeedResolvesRelativeDates(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	data := `{
	  "store": {"id": "str_x", "name": "X", "currency": "DOP", "created_at": "now-1w"},
	  "customers": [{"id": "1", "name": "Ana", "phone": "+18095550001", "created_at": "now-36h", "updated_at": "2026-01-02T03:04:05Z"}],
	  "orders": [{"id": "9", "order_number": 7, "status": "pending", "payment_status": "pending", "customer_id": "1",
	              "created_at": "now-1d12h", "updated_at": "now+30m", "shipping_cost": 100,
	              "items": [{"id": "91", "product_name": "P", "quantity": 2, "unit_price": 250.5}]}]
	}`
	s, err := LoadSeed([]byte(data), now)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  time.Time
		want time.Time
	}{
		{"store created_at now-1w", s.Store.CreatedAt, now.Add(-7 * 24 * time.Hour)},
		{"customer created_at now-36h", s.Customers[0].CreatedAt, now.Add(-36 * time.Hour)},
		{"absolute time kept", s.Customers[0].UpdatedAt, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"order created_at now-1d12h", s.Orders[0].CreatedAt, now.Add(-36 * time.Hour)},
		{"order updated_at now+30m", s.Orders[0].UpdatedAt, now.Add(30 * time.Minute)},
		{"item created_at defaults to the order's", s.Orders[0].Items[0].CreatedAt, now.Add(-36 * time.Hour)},
	}
	for _, c := range checks {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
	o := s.Orders[0]
	if o.Items[0].TotalPrice.String() != "501" || o.Subtotal.String() != "501" || o.Total.String() != "601" {
		t.Errorf("computed amounts: item %s subtotal %s total %s, want 501, 501, 601", o.Items[0].TotalPrice, o.Subtotal, o.Total)
	}
	if o.Currency != "DOP" || o.CustomerName != "Ana" || o.CustomerPhone != "+18095550001" || !o.IsPending || o.ItemCount != 2 {
		t.Errorf("derived order fields not filled: %+v", o)
	}
	c := s.Customers[0]
	if c.OrdersCount != 1 || c.TotalSpent.String() != "601" || c.LastOrderID != "9" || !c.HasPhone || c.HasEmail || c.DisplayContact != "+18095550001" {
		t.Errorf("customer aggregates: %+v", c)
	}
}

func TestLoadSeedRejectsBadSeeds(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not JSON", `{`, "parse JSON"},
		{"bad relative date", `{"customers":[{"id":"1","name":"A","created_at":"now-3x"}]}`, "relative time"},
		{"unknown field", `{"customers":[{"id":"1","nmae":"A"}]}`, "unknown field"},
		{"duplicate customer", `{"customers":[{"id":"1","name":"A"},{"id":"1","name":"B"}]}`, "duplicate id"},
		{"unknown customer", `{"orders":[{"id":"9","order_number":1,"status":"pending","payment_status":"pending","customer_id":"404"}]}`, "unknown customer_id"},
		{"bad status", `{"orders":[{"id":"9","order_number":1,"status":"shipped","payment_status":"pending"}]}`, "unknown status"},
		{"total does not add up", `{"orders":[{"id":"9","order_number":1,"status":"pending","payment_status":"pending",
			"subtotal":100,"shipping_cost":10,"total":999,"items":[{"id":"1","quantity":1,"unit_price":100}]}]}`, "total 999"},
		{"subtotal does not add up", `{"orders":[{"id":"9","order_number":1,"status":"pending","payment_status":"pending",
			"subtotal":50,"items":[{"id":"1","quantity":1,"unit_price":100}]}]}`, "subtotal 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSeed([]byte(tt.data), time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadSeed error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func customerByName(t *testing.T, s *Seed, name string) whatalo.Customer {
	t.Helper()
	for _, c := range s.Customers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("demo seed has no customer %q", name)
	return whatalo.Customer{}
}

func TestDemoSeedHasTheRequiredStore(t *testing.T) {
	now := time.Now()
	s := DemoSeed()
	st := s.Store
	if st.ID != "str_demo01" || st.Name != "Tienda Demo" || st.Slug != "tienda-demo" || st.Currency != "DOP" ||
		st.CountryCode != "DO" || st.Timezone != "America/Santo_Domingo" || st.StorefrontURL != "https://tienda-demo.whatalo.com" ||
		st.PlanName != "Despegue" {
		t.Errorf("store = %+v", st)
	}

	maria := customerByName(t, s, "María García")
	if maria.Phone != "+18095551234" || maria.Email != "maria.garcia@example.com" || maria.Notes == "" || maria.OrdersCount != 3 {
		t.Errorf("María = %+v", maria)
	}
	// 1001 (3035.50) + 1003 (2150); 1002 is cancelled.
	if maria.TotalSpent.String() != "5185.5" {
		t.Errorf("María total_spent = %s, want 5185.5", maria.TotalSpent)
	}
	byNumber := map[int]whatalo.Order{}
	for _, o := range s.Orders {
		byNumber[o.OrderNumber] = o
	}
	days := func(o whatalo.Order) float64 { return now.Sub(o.CreatedAt).Hours() / 24 }
	o1, o2, o3 := byNumber[1001], byNumber[1002], byNumber[1003]
	if o1.CustomerID != maria.ID || o1.Status != "completed" || o1.PaymentStatus != "paid" || len(o1.Items) != 2 || days(o1) < 19 || days(o1) > 21 {
		t.Errorf("#1001 = %+v", o1)
	}
	hasVariant := false
	for _, it := range o1.Items {
		hasVariant = hasVariant || (it.ProductName == "Camiseta Premium" && it.VariantID != "")
	}
	if !hasVariant {
		t.Error("#1001 has no Camiseta Premium variant line")
	}
	if o2.CustomerID != maria.ID || o2.Status != "cancelled" || days(o2) < 9 || days(o2) > 11 {
		t.Errorf("#1002 = %+v", o2)
	}
	if o3.CustomerID != maria.ID || o3.Status != "pending" || o3.PaymentStatus != "pending" || o3.PaymentMethod != "cod" ||
		o3.CustomerNotes == "" || days(o3) < 1 || days(o3) > 3 {
		t.Errorf("#1003 = %+v", o3)
	}
	if maria.LastOrderID != o3.ID {
		t.Errorf("María last_order_id = %s, want #1003's %s", maria.LastOrderID, o3.ID)
	}

	want := map[string]string{
		"Juan Pérez":     "+573001234567",
		"Ana López":      "809-555-7777",
		"Luis Hernández": "+525512345678",
		"Pedro Martínez": "+18095550000",
		"Rosa Martínez":  "+18095550000",
		"Sofía Benítez":  "+541123456789",
	}
	for name, phone := range want {
		if c := customerByName(t, s, name); c.Phone != phone {
			t.Errorf("%s phone = %q, want %q", name, c.Phone, phone)
		}
	}
	if c := customerByName(t, s, "Juan Pérez"); c.OrdersCount != 0 || c.LastOrderAt != nil {
		t.Errorf("Juan should have no orders: %+v", c)
	}
	if c := customerByName(t, s, "Luis Hernández"); c.OrdersCount != 1 {
		t.Errorf("Luis orders_count = %d, want 1", c.OrdersCount)
	}

	carlos, carlosPhones, spanish, emailOnly := 0, map[string]int{}, 0, 0
	for _, c := range s.Customers {
		if len(c.ID) != 12 || strings.Trim(c.ID, "0123456789") != "" {
			t.Errorf("customer id %q is not a 12-digit string", c.ID)
		}
		if strings.HasPrefix(c.Name, "Carlos ") {
			carlos++
			carlosPhones[c.Phone]++
		}
		if strings.HasPrefix(c.Phone, "+34") {
			spanish++
		}
		if c.Phone == "" && c.Email != "" {
			emailOnly++
			if c.HasPhone || c.DisplayContact != c.Email {
				t.Errorf("email-only customer flags: %+v", c)
			}
		}
	}
	shared := 0
	for _, n := range carlosPhones {
		if n == 2 {
			shared++
		}
	}
	if carlos < 22 || len(carlosPhones) < 21 || shared != 1 {
		t.Errorf("Carlos: %d customers, %d phones, %d shared phones; want 22+ with distinct phones plus one shared pair", carlos, len(carlosPhones), shared)
	}
	if spanish == 0 || emailOnly == 0 {
		t.Errorf("want a Spanish phone and an email-only customer, got %d and %d", spanish, emailOnly)
	}
}

func TestDemoSeedProductsAndOrders(t *testing.T) {
	s := DemoSeed()
	active, inactive := 0, 0
	var cam *whatalo.Product
	for i, p := range s.Products {
		if p.IsActive {
			active++
		} else {
			inactive++
		}
		if p.MainImage == "" || p.SKU == "" || !p.Price.IsPositive() {
			t.Errorf("product %s lacks image, sku or price", p.Name)
		}
		if p.Slug == "camiseta-premium" {
			cam = &s.Products[i]
		}
	}
	if active < 12 || inactive != 1 {
		t.Errorf("products: %d active, %d inactive; want 12+ and 1", active, inactive)
	}
	if cam == nil {
		t.Fatal("no camiseta-premium")
	}
	d := cam.Description
	if cam.SKU != "CAM-001" || len(d) <= 600 || !strings.Contains(d, "<p>") || !strings.Contains(d, "<strong>") ||
		!strings.Contains(d, "<ul><li>") || !strings.Contains(d, "&amp;") {
		t.Errorf("Camiseta Premium sku %q, description %d chars: %q", cam.SKU, len(d), d)
	}
	if len(cam.Variants) != 2 || cam.Variants[0].SKU != "CAM-001-M" || cam.Variants[1].SKU != "CAM-001-L" ||
		cam.Variants[0].Type != "Talla" || len(cam.Variants[0].ID) != 36 {
		t.Errorf("Camiseta Premium variants = %+v", cam.Variants)
	}

	discounted, returned := 0, 0
	for _, o := range s.Orders {
		sum := o.Subtotal.Sub(o.DiscountAmount.Decimal).Add(o.ShippingCost.Decimal).Add(o.TaxAmount.Decimal)
		if !sum.Equal(o.Total.Decimal) {
			t.Errorf("#%d: total %s != %s", o.OrderNumber, o.Total, sum)
		}
		if o.DiscountAmount.IsPositive() {
			discounted++
		}
		if o.Status == "returned" || o.PaymentStatus == "refunded" {
			returned++
		}
		if o.ShippingAddress == nil || o.ShippingAddress.City == "" || o.ShippingMethod == "" || len(o.Items) == 0 {
			t.Errorf("#%d lacks address, shipping method or items", o.OrderNumber)
		}
		for _, it := range o.Items {
			if it.ProductID == "" || it.ProductName == "" || !it.UnitPrice.IsPositive() || !it.TotalPrice.IsPositive() {
				t.Errorf("#%d item %+v", o.OrderNumber, it)
			}
		}
	}
	if discounted == 0 || returned == 0 {
		t.Errorf("want a discounted and a returned order, got %d and %d", discounted, returned)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	a, b := GenerateAt(500, 7, now), GenerateAt(500, 7, now)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("GenerateAt with the same arguments gave different seeds")
	}
	if c := GenerateAt(500, 8, now); reflect.DeepEqual(a.Customers, c.Customers) {
		t.Error("a different rand seed gave the same customers")
	}
	x, y := Generate(300, 3), Generate(300, 3)
	for i := range x.Customers {
		if x.Customers[i].ID != y.Customers[i].ID || x.Customers[i].Phone != y.Customers[i].Phone || x.Customers[i].Name != y.Customers[i].Name {
			t.Fatalf("Generate customer %d differs: %+v vs %+v", i, x.Customers[i], y.Customers[i])
		}
	}
}

func TestGenerateLooksLikeAStore(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s := GenerateAt(3000, 1, now)
	if len(s.Customers) != 3000 || len(s.Products) < 45 {
		t.Fatalf("%d customers, %d products", len(s.Customers), len(s.Products))
	}
	phones := map[string]bool{}
	prefixes := map[string]int{}
	for _, c := range s.Customers {
		if c.Phone == "" {
			continue
		}
		if phones[c.Phone] {
			t.Fatalf("duplicate phone %s", c.Phone)
		}
		phones[c.Phone] = true
		for _, p := range []string{"+1809", "+1829", "+1849", "+57", "+52", "+34"} {
			if strings.HasPrefix(c.Phone, p) {
				prefixes[p]++
			}
		}
		if c.OrdersCount > 6 {
			t.Errorf("%s has %d orders", c.Name, c.OrdersCount)
		}
		if c.CreatedAt.Before(now.AddDate(-2, 0, -1)) || c.UpdatedAt.Before(c.CreatedAt) || c.UpdatedAt.After(now) ||
			(c.LastOrderAt != nil && (c.UpdatedAt.Before(*c.LastOrderAt) || c.LastOrderAt.Before(c.CreatedAt))) {
			t.Errorf("%s dates: created %s updated %s", c.Name, c.CreatedAt, c.UpdatedAt)
		}
	}
	for _, p := range []string{"+1809", "+1829", "+1849", "+57", "+52", "+34"} {
		if prefixes[p] == 0 {
			t.Errorf("no phones starting %s", p)
		}
	}
	if prefixes["+57"]+prefixes["+52"]+prefixes["+34"] > len(phones)/2 {
		t.Error("most phones should be Dominican")
	}
	prev := 0
	for _, o := range s.Orders {
		if o.OrderNumber <= prev {
			t.Fatalf("order numbers not increasing with time at #%d", o.OrderNumber)
		}
		prev = o.OrderNumber
		if n := len(o.Items); n < 1 || n > 3 {
			t.Errorf("#%d has %d items", o.OrderNumber, n)
		}
		sum := o.Subtotal.Sub(o.DiscountAmount.Decimal).Add(o.ShippingCost.Decimal).Add(o.TaxAmount.Decimal)
		if !sum.Equal(o.Total.Decimal) {
			t.Errorf("#%d total %s != %s", o.OrderNumber, o.Total, sum)
		}
	}
}
