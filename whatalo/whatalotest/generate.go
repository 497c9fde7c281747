package whatalotest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest/demostore"
)

// Generate returns a synthetic store for load tests: the demo store's
// settings, about 50 products and n customers with 0-6 orders each over
// the last two years. The same n and randSeed give the same data; dates are
// relative to the current hour (see GenerateAt).
func Generate(n int, randSeed int64) *Seed {
	return GenerateAt(n, randSeed, time.Now().UTC().Truncate(time.Hour))
}

// GenerateAt is Generate with dates relative to now, so that the whole seed
// is reproducible.
func GenerateAt(n int, randSeed int64, now time.Time) *Seed {
	g := &generator{
		rng:   rand.New(rand.NewPCG(uint64(randSeed), 0x9e3779b97f4a7c15)),
		now:   now.UTC(),
		money: map[int64]whatalo.Money{},
	}
	return g.seed(max(0, n))
}

// generator holds the state of one Generate call.
type generator struct {
	rng      *rand.Rand
	now      time.Time
	money    map[int64]whatalo.Money // cents -> shared Money, so 100k orders do not allocate 500k decimals
	products []whatalo.Product
	itemID   uint64
}

type productTemplate struct {
	name, sku, category string
	price               int64 // DOP
	variantType         string
	values              []string
}

var productTemplates = []productTemplate{
	{"Camiseta Básica", "CAB", "ropa", 850, "Talla", []string{"S", "M", "L"}},
	{"Polo Piqué", "POL", "ropa", 1450, "Talla", []string{"S", "M", "L", "XL"}},
	{"Jeans Slim", "JSL", "ropa", 2650, "Talla", []string{"30", "32", "34"}},
	{"Vestido Playero", "VPL", "ropa", 2300, "Talla", []string{"S", "M", "L"}},
	{"Falda Midi", "FMI", "ropa", 1800, "Talla", []string{"S", "M"}},
	{"Chaqueta Ligera", "CHL", "ropa", 3800, "Talla", []string{"M", "L"}},
	{"Tenis Running", "TRU", "calzado", 4200, "Talla", []string{"39", "40", "41", "42"}},
	{"Sandalias de Cuero", "SCU", "calzado", 1650, "Talla", []string{"37", "38", "39"}},
	{"Gorra Trucker", "GTR", "accesorios", 700, "", nil},
	{"Mochila Urbana", "MUR", "accesorios", 2900, "Color", []string{"Negro", "Gris"}},
	{"Cartera de Mano", "CMA", "accesorios", 2200, "", nil},
	{"Lentes de Sol", "LSO", "accesorios", 1900, "", nil},
	{"Reloj Clásico", "RCL", "accesorios", 4800, "", nil},
	{"Perfume Floral 50 ml", "PFL", "belleza", 2600, "", nil},
	{"Crema Hidratante", "CHI", "belleza", 650, "", nil},
	{"Jabón Artesanal", "JAR", "belleza", 250, "", nil},
	{"Café Tostado 454 g", "CTO", "gourmet", 560, "", nil},
	{"Cacao en Polvo 300 g", "CAP", "gourmet", 420, "", nil},
	{"Mamajuana Tradicional", "MAM", "gourmet", 950, "", nil},
	{"Miel de Abeja 500 g", "MIE", "gourmet", 480, "", nil},
	{"Audífonos Bluetooth", "AUB", "tecnologia", 2700, "Color", []string{"Negro", "Blanco"}},
	{"Cargador Rápido", "CRA", "tecnologia", 890, "", nil},
	{"Funda para Celular", "FCE", "tecnologia", 450, "Modelo", []string{"iPhone 15", "Galaxy S24"}},
	{"Bocina Portátil", "BPO", "tecnologia", 3100, "", nil},
	{"Termo de Acero", "TAC", "hogar", 1100, "Color", []string{"Azul", "Verde"}},
}

var categoryIDs = map[string]string{
	"ropa": "204728193650", "calzado": "204728193651", "accesorios": "204728193652", "belleza": "204728193653",
	"gourmet": "204728193654", "tecnologia": "204728193655", "hogar": "204728193656",
}

var (
	firstNames = []string{
		"María", "José", "Juan", "Ana", "Luis", "Carmen", "Pedro", "Rosa", "Carlos", "Laura", "Miguel", "Isabel",
		"Jorge", "Lucía", "Rafael", "Elena", "Francisco", "Sofía", "Manuel", "Valentina", "Antonio", "Camila",
		"Ramón", "Gabriela", "Andrés", "Daniela", "Fernando", "Paola", "Ricardo", "Yolanda", "Héctor", "Marisol",
		"Alejandro", "Patricia", "Diego", "Milagros", "Julio", "Altagracia", "Eduardo", "Yaneris", "Santiago",
		"Mariela", "Víctor", "Fiordaliza", "Ángel", "Natalia", "Rubén", "Esperanza", "Emilio", "Josefina",
		"Wilson", "Yokasta", "Franklin", "Juana", "Domingo", "Mercedes", "Nelson", "Dulce", "Tomás", "Margarita",
	}
	surnames = []string{
		"García", "Rodríguez", "Martínez", "López", "Pérez", "González", "Hernández", "Sánchez", "Ramírez",
		"Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Cruz", "Morales", "Ortiz", "Gutiérrez", "Chávez",
		"Ramos", "Castillo", "Jiménez", "Vargas", "Romero", "Herrera", "Medina", "Aguilar", "Peña", "Santana",
		"Batista", "Almonte", "Polanco", "Rosario", "Féliz", "Mejía", "Guzmán", "Núñez", "Tavárez", "Encarnación",
		"Vásquez", "Cabrera", "Acosta", "Castro", "Rojas", "Soto", "Navarro", "Molina", "Suárez", "Delgado",
	}
	customerNotes = []string{
		"Prefiere entregas en la tarde.", "Llamar antes de llegar.", "Cliente mayorista.",
		"Pide factura con RNC.", "Solo contacto por WhatsApp.", "Alérgica al perfume; no enviar muestras.",
	}
	orderNotes = []string{
		"Dejar con el conserje.", "Por favor envolver para regalo.", "Entregar después de las 5:00 p. m.",
		"Llamar al llegar; el timbre no funciona.",
	}
	emailDomains = []string{"example.com", "example.net", "example.org"}
)

type region struct {
	code, country string
	cities        [][2]string // city, province
	streets       []string
}

var regions = map[string]region{
	"DO": {"DO", "República Dominicana", [][2]string{
		{"Santo Domingo", "Distrito Nacional"}, {"Santo Domingo Este", "Santo Domingo"},
		{"Santiago de los Caballeros", "Santiago"}, {"La Romana", "La Romana"}, {"Puerto Plata", "Puerto Plata"},
		{"San Pedro de Macorís", "San Pedro de Macorís"}, {"Punta Cana", "La Altagracia"}, {"La Vega", "La Vega"},
	}, []string{"Calle El Conde", "Av. 27 de Febrero", "Av. Winston Churchill", "Calle Duarte", "Av. Independencia", "Calle Las Mercedes"}},
	"CO": {"CO", "Colombia", [][2]string{{"Bogotá", "Cundinamarca"}, {"Medellín", "Antioquia"}, {"Cali", "Valle del Cauca"}},
		[]string{"Carrera 7", "Calle 80", "Avenida El Poblado"}},
	"MX": {"MX", "México", [][2]string{{"Ciudad de México", "CDMX"}, {"Guadalajara", "Jalisco"}, {"Monterrey", "Nuevo León"}},
		[]string{"Av. Reforma", "Calle Madero", "Av. Chapultepec"}},
	"ES": {"ES", "España", [][2]string{{"Madrid", "Madrid"}, {"Barcelona", "Barcelona"}, {"Valencia", "Valencia"}},
		[]string{"Calle Mayor", "Gran Vía", "Calle de Alcalá"}},
}

func (g *generator) seed(n int) *Seed {
	demo, err := LoadSeed(demostore.JSON(), g.now)
	if err != nil {
		panic(fmt.Sprintf("whatalotest: embedded demo store: %v", err))
	}
	s := &Seed{Store: demo.Store}
	g.makeProducts()
	s.Products = g.products
	type buyer struct {
		addr    *whatalo.Address
		country string
		orders  int
	}
	s.Customers = make([]whatalo.Customer, n)
	buyers := make([]buyer, n)
	total := 0
	for i := range n {
		var b buyer
		s.Customers[i], b.addr, b.country = g.customer(i)
		b.orders = g.orderCount()
		buyers[i] = b
		total += b.orders
	}
	s.Orders = make([]whatalo.Order, 0, total) // exact: the orders stay in memory as long as the fake
	for i, b := range buyers {
		s.Orders = g.orders(s.Orders, &s.Customers[i], b.addr, b.country, b.orders)
	}
	// Order numbers follow time, as a store's do.
	slices.SortFunc(s.Orders, func(a, b whatalo.Order) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for i := range s.Orders {
		s.Orders[i].OrderNumber = 1001 + i
		s.Orders[i].ID = strconv.FormatUint(800000000000+uint64(i)*7919, 10)
	}
	last := map[string]time.Time{}
	for _, o := range s.Orders {
		last[o.CustomerID] = o.CreatedAt
	}
	for i := range s.Customers {
		c := &s.Customers[i]
		base := c.CreatedAt
		if t, ok := last[c.ID]; ok {
			base = t
		}
		if g.rng.IntN(20) == 0 { // some were edited lately, so incremental syncs have work
			base = maxTime(base, g.now.Add(-24*time.Hour))
		}
		c.UpdatedAt = g.between(base, g.now)
	}
	if err := s.prepare(); err != nil {
		panic(fmt.Sprintf("whatalotest: generated seed: %v", err))
	}
	return s
}

func (g *generator) cents(c int64) whatalo.Money {
	m, ok := g.money[c]
	if !ok {
		m = whatalo.Money{Decimal: decimal.New(c, -2)}
		g.money[c] = m
	}
	return m
}

func (g *generator) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// between returns a random time in [from, to].
func (g *generator) between(from, to time.Time) time.Time {
	d := to.Sub(from)
	if d <= 0 {
		return from
	}
	return from.Add(time.Duration(g.rng.Int64N(int64(d)))).Truncate(time.Second)
}

func (g *generator) makeProducts() {
	lines := []struct {
		suffix, sku string
		pct         int64
	}{{"Original", "O", 100}, {"Edición Caribe", "C", 115}}
	id := 0
	for ti, t := range productTemplates {
		for _, line := range lines {
			id++
			name := t.name + " " + line.suffix
			slug := slugify(name)
			price := t.price * line.pct // cents
			p := whatalo.Product{
				ID:                strconv.Itoa(400000000000 + id*101),
				Name:              name,
				Slug:              slug,
				Description:       "<p>" + name + ": calidad garantizada &amp; envío a todo el país.</p><ul><li>Garantía de 30 días</li></ul>",
				Price:             g.cents(price),
				MainImage:         "https://cdn.whatalo.com/stores/tienda-demo/products/" + slug + ".jpg",
				Gallery:           []string{},
				IsActive:          id%23 != 0,
				IsFeatured:        id%7 == 0,
				SKU:               fmt.Sprintf("%s-%02d%s", t.sku, ti+1, line.sku),
				TrackInventory:    true,
				StockQuantity:     g.rng.IntN(80),
				LowStockThreshold: 5,
				Condition:         "new",
				InvoiceAvailable:  true,
				CategoryID:        categoryIDs[t.category],
				Variants:          []whatalo.Variant{},
				CreatedAt:         g.between(g.now.AddDate(-2, 0, 0), g.now.AddDate(0, -6, 0)),
			}
			p.UpdatedAt = g.between(p.CreatedAt, g.now)
			if g.rng.IntN(4) == 0 {
				cp := g.cents(price * 120 / 100)
				p.ComparePrice = &cp
			}
			for _, v := range t.values {
				p.Variants = append(p.Variants, whatalo.Variant{
					ID: g.uuid(), Type: t.variantType, Value: v,
					SKU:           p.SKU + "-" + strings.ToUpper(slugify(v)),
					StockQuantity: g.rng.IntN(30), TrackInventory: true, LowStockThreshold: 3,
				})
			}
			g.products = append(g.products, p)
		}
	}
}

// customer makes customer i with a phone unique among the n generated:
// the subscriber part is a bijection of i.
func (g *generator) customer(i int) (whatalo.Customer, *whatalo.Address, string) {
	first := firstNames[g.rng.IntN(len(firstNames))]
	last := surnames[g.rng.IntN(len(surnames))]
	name := first + " " + last
	if g.rng.IntN(3) == 0 {
		name += " " + surnames[g.rng.IntN(len(surnames))]
	}
	sub := (uint64(i)*7919 + 1234567) % 10_000_000 // unique for i < 10^7
	var phone, country string
	switch r := g.rng.IntN(100); {
	case r < 78:
		country = "DO"
		area := []string{"809", "829", "849"}[g.rng.IntN(3)]
		local := fmt.Sprintf("%07d", sub)
		switch f := g.rng.IntN(20); {
		case f < 2: // stored the way a Dominican types it
			phone = area + "-" + local[:3] + "-" + local[3:]
		case f < 3:
			phone = "+1 " + area + "-" + local[:3] + "-" + local[3:]
		default:
			phone = "+1" + area + local
		}
	case r < 86:
		country = "CO"
		phone = fmt.Sprintf("+573%02d%07d", g.rng.IntN(25), sub)
	case r < 93:
		country = "MX"
		phone = fmt.Sprintf("+52%s%d%07d", []string{"55", "33", "81"}[g.rng.IntN(3)], 1+g.rng.IntN(9), sub)
	default:
		country = "ES"
		phone = fmt.Sprintf("+346%d%07d", g.rng.IntN(10), sub)
	}
	email := ""
	if g.rng.IntN(10) < 9 {
		email = slugify(first) + "." + slugify(last) + strconv.Itoa(i) + "@" + emailDomains[g.rng.IntN(len(emailDomains))]
		email = strings.ReplaceAll(email, "-", "")
	}
	if g.rng.IntN(50) == 0 && email != "" {
		phone = "" // an email-only customer
	}
	c := whatalo.Customer{
		ID:        strconv.FormatUint(300000000000+uint64(i)*1009, 10),
		Name:      name,
		Email:     email,
		Phone:     phone,
		CreatedAt: g.between(g.now.AddDate(-2, 0, 0), g.now),
	}
	if g.rng.IntN(10) == 0 {
		c.Notes = customerNotes[g.rng.IntN(len(customerNotes))]
	}
	reg := regions[country]
	city := reg.cities[g.rng.IntN(len(reg.cities))]
	addr := &whatalo.Address{
		Name:     name,
		Phone:    phone,
		Address:  fmt.Sprintf("%s #%d", reg.streets[g.rng.IntN(len(reg.streets))], 1+g.rng.IntN(400)),
		City:     city[0],
		Province: city[1],
		Country:  reg.country,
	}
	return c, addr, country
}

// orderWeights weighs 0..6 orders per customer: most buy once or never.
var orderWeights = []int{38, 40, 10, 6, 3, 2, 1}

func (g *generator) orderCount() int {
	r := g.rng.IntN(100)
	for k, w := range orderWeights {
		if r < w {
			return k
		}
		r -= w
	}
	return len(orderWeights) - 1
}

func (g *generator) orders(out []whatalo.Order, c *whatalo.Customer, addr *whatalo.Address, country string, k int) []whatalo.Order {
	times := make([]time.Time, k)
	for i := range times {
		times[i] = g.between(c.CreatedAt, g.now)
	}
	slices.SortFunc(times, time.Time.Compare)
	for _, at := range times {
		out = append(out, g.order(c, addr, country, at))
	}
	return out
}

func (g *generator) order(c *whatalo.Customer, addr *whatalo.Address, country string, at time.Time) whatalo.Order {
	age := g.now.Sub(at)
	status, payment := whatalo.OrderCompleted, whatalo.PaymentPaid
	r := g.rng.IntN(100)
	if age > 14*24*time.Hour {
		switch {
		case r < 10:
			status, payment = whatalo.OrderCancelled, []string{whatalo.PaymentPending, whatalo.PaymentFailed}[g.rng.IntN(2)]
		case r < 14:
			status, payment = whatalo.OrderReturned, whatalo.PaymentRefunded
		}
	} else {
		switch {
		case r < 25:
			status, payment = whatalo.OrderPending, whatalo.PaymentPending
		case r < 45:
			status = whatalo.OrderConfirmed
		case r < 65:
			status = whatalo.OrderInProgress
		case r < 70:
			status, payment = whatalo.OrderCancelled, whatalo.PaymentPending
		}
	}
	method := []string{"cod", "cod", "card", "card", "transfer"}[g.rng.IntN(5)]
	if method == "cod" && (status == whatalo.OrderConfirmed || status == whatalo.OrderInProgress) {
		payment = whatalo.PaymentPending
	}
	shipMethod, shipping := "Envío a domicilio", int64(25000)
	switch r := g.rng.IntN(10); {
	case country != "DO":
		shipMethod, shipping = "Envío internacional", 150000
	case r < 2:
		shipMethod, shipping = "Retiro en tienda", 0
	case r < 4:
		shipMethod, shipping = "Envío express", 45000
	}
	o := whatalo.Order{
		Status:          status,
		PaymentStatus:   payment,
		PaymentMethod:   method,
		ShippingMethod:  shipMethod,
		Currency:        "DOP",
		CustomerID:      c.ID,
		CustomerName:    c.Name,
		CustomerPhone:   c.Phone,
		CustomerEmail:   c.Email,
		ShippingCost:    g.cents(shipping),
		ShippingAddress: addr,
		CountryCode:     country,
		CreatedAt:       at,
		UpdatedAt:       at,
	}
	var subtotal int64
	nItems := []int{1, 1, 1, 1, 1, 2, 2, 2, 3, 3}[g.rng.IntN(10)]
	o.Items = make([]whatalo.LineItem, 0, nItems)
	for range nItems {
		p := &g.products[g.rng.IntN(len(g.products))]
		qty := []int{1, 1, 1, 1, 1, 1, 1, 2, 2, 3}[g.rng.IntN(10)]
		unit := p.Price.Shift(2).IntPart()
		g.itemID++
		it := whatalo.LineItem{
			ID:          strconv.FormatUint(500000000000+g.itemID, 10),
			ProductID:   p.ID,
			ProductName: p.Name,
			Quantity:    qty,
			UnitPrice:   p.Price,
			TotalPrice:  g.cents(unit * int64(qty)),
			CreatedAt:   at,
		}
		if len(p.Variants) > 0 {
			v := p.Variants[g.rng.IntN(len(p.Variants))]
			it.VariantID, it.VariantName = v.ID, v.Value
		}
		subtotal += unit * int64(qty)
		o.Items = append(o.Items, it)
	}
	var discount int64
	if g.rng.IntN(100) < 15 {
		discount = subtotal / 10
	}
	o.Subtotal = g.cents(subtotal)
	o.DiscountAmount = g.cents(discount)
	o.Total = g.cents(subtotal - discount + shipping)
	if status != whatalo.OrderPending {
		o.UpdatedAt = g.between(at, minTime(at.Add(6*24*time.Hour), g.now))
	}
	if status == whatalo.OrderCompleted || status == whatalo.OrderReturned {
		done := o.UpdatedAt
		if status == whatalo.OrderReturned {
			done = g.between(at, o.UpdatedAt)
		}
		o.CompletedAt = &done
	}
	if g.rng.IntN(10) == 0 {
		o.CustomerNotes = orderNotes[g.rng.IntN(len(orderNotes))]
	}
	return o
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

var slugReplacer = strings.NewReplacer(
	"á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ü", "u", "ñ", "n",
	"Á", "a", "É", "e", "Í", "i", "Ó", "o", "Ú", "u", "Ñ", "n",
)

// slugify lowercases s, folds Spanish accents and joins words with '-'.
func slugify(s string) string {
	s = strings.ToLower(slugReplacer.Replace(s))
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
