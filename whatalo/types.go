package whatalo

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// Money is an amount in major currency units, as Whatalo sends it: a JSON
// number such as 1500.5. It is decoded exactly (no float rounding) and encoded
// back as a JSON number, never a string.
type Money struct {
	decimal.Decimal
}

// NewMoney parses s ("1500.50") into Money; it panics on bad input and is
// meant for literals in tests and seeds.
func NewMoney(s string) Money { return Money{decimal.RequireFromString(s)} }

// MoneyFromFloat converts f to Money.
func MoneyFromFloat(f float64) Money { return Money{decimal.NewFromFloat(f)} }

// MarshalJSON encodes m as a bare JSON number.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.Decimal.String()), nil }

// UnmarshalJSON accepts a JSON number, a numeric string or null (zero).
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		m.Decimal = decimal.Zero
		return nil
	}
	return m.Decimal.UnmarshalJSON(b)
}

// Float64 returns m as a float64, for output formats that need one.
func (m Money) Float64() float64 { return m.Decimal.InexactFloat64() }

// Pagination is the pagination object of every list response.
type Pagination struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Total      int `json:"total"`
	TotalPages int `json:"total_pages"`
}

// Customer mirrors the customer object of GET /v1/customers.
type Customer struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	Phone          string     `json:"phone"`
	Notes          string     `json:"notes"`
	HasEmail       bool       `json:"has_email"`
	HasPhone       bool       `json:"has_phone"`
	DisplayContact string     `json:"display_contact"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	OrdersCount    int        `json:"orders_count"`
	TotalSpent     Money      `json:"total_spent"`
	LastOrderAt    *time.Time `json:"last_order_at"`
	LastOrderID    string     `json:"last_order_id"`
}

// CustomerInput is the body of POST and PATCH /v1/customers. Nil fields are
// left out, so a PATCH changes only what is set.
type CustomerInput struct {
	Name  *string `json:"name,omitempty"`
	Email *string `json:"email,omitempty"`
	Phone *string `json:"phone,omitempty"`
	Notes *string `json:"notes,omitempty"`
}

// Order statuses documented by Whatalo.
const (
	OrderPending    = "pending"
	OrderConfirmed  = "confirmed"
	OrderInProgress = "in_progress"
	OrderCompleted  = "completed"
	OrderCancelled  = "cancelled"
	OrderReturned   = "returned"
)

// Payment statuses documented by Whatalo.
const (
	PaymentPending  = "pending"
	PaymentPaid     = "paid"
	PaymentRefunded = "refunded"
	PaymentFailed   = "failed"
)

// Address is an order's shipping address.
type Address struct {
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	Address    string `json:"address"`
	City       string `json:"city"`
	Province   string `json:"province"`
	Country    string `json:"country"`
	PostalCode string `json:"postal_code"`
	Notes      string `json:"notes"`
}

// LineItem is one line of an order (GET /v1/orders/{id}/items).
type LineItem struct {
	ID          string    `json:"id"`
	ProductID   string    `json:"product_id"`
	VariantID   string    `json:"variant_id"`
	ProductName string    `json:"product_name"`
	VariantName string    `json:"variant_name"`
	Quantity    int       `json:"quantity"`
	UnitPrice   Money     `json:"unit_price"`
	TotalPrice  Money     `json:"total_price"`
	CreatedAt   time.Time `json:"created_at"`
}

// Order mirrors the order object. Items is filled by GET /v1/orders/{id} and
// empty in list responses.
type Order struct {
	ID              string     `json:"id"`
	OrderNumber     int        `json:"order_number"`
	Status          string     `json:"status"`
	PaymentStatus   string     `json:"payment_status"`
	PaymentMethod   string     `json:"payment_method"`
	ShippingMethod  string     `json:"shipping_method"`
	Currency        string     `json:"currency"`
	CustomerID      string     `json:"customer_id"`
	CustomerName    string     `json:"customer_name"`
	CustomerPhone   string     `json:"customer_phone"`
	CustomerEmail   string     `json:"customer_email"`
	Subtotal        Money      `json:"subtotal"`
	DiscountAmount  Money      `json:"discount_amount"`
	ShippingCost    Money      `json:"shipping_cost"`
	TaxAmount       Money      `json:"tax_amount"`
	Total           Money      `json:"total"`
	CustomerNotes   string     `json:"customer_notes"`
	InternalNotes   string     `json:"internal_notes"`
	ShippingAddress *Address   `json:"shipping_address"`
	CountryCode     string     `json:"country_code"`
	IsPending       bool       `json:"is_pending"`
	IsCompleted     bool       `json:"is_completed"`
	IsCancellable   bool       `json:"is_cancellable"`
	ItemCount       int        `json:"item_count"`
	IsFullyPaid     bool       `json:"is_fully_paid"`
	CompletedAt     *time.Time `json:"completed_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Items           []LineItem `json:"items,omitempty"`
}

// Variant is a product variant. Whatalo documents no variant schema on the
// product object; this follows the variant shown by the inventory endpoint
// (variant_id, variant_type, variant_value, sku, stock) plus optional name,
// price and image, which the adapter uses when present.
type Variant struct {
	ID                            string `json:"variant_id"`
	Type                          string `json:"variant_type"`
	Value                         string `json:"variant_value"`
	Name                          string `json:"name,omitempty"`
	SKU                           string `json:"sku"`
	Price                         *Money `json:"price,omitempty"`
	Image                         string `json:"image,omitempty"`
	StockQuantity                 int    `json:"stock_quantity"`
	TrackInventory                bool   `json:"track_inventory"`
	LowStockThreshold             int    `json:"low_stock_threshold"`
	ContinueSellingWhenOutOfStock bool   `json:"continue_selling_when_out_of_stock"`
}

// Title is the variant's display title: its name, else its value (e.g.
// "Rojo"), else its type.
func (v Variant) Title() string {
	if v.Name != "" {
		return v.Name
	}
	if v.Value != "" {
		return v.Value
	}
	return v.Type
}

// Product mirrors the product object.
type Product struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Slug                 string    `json:"slug"`
	Description          string    `json:"description"`
	Price                Money     `json:"price"`
	ComparePrice         *Money    `json:"compare_price"`
	SupplierCost         *Money    `json:"supplier_cost"`
	WholesalePrice       *Money    `json:"wholesale_price"`
	WholesaleMinQuantity int       `json:"wholesale_min_quantity"`
	MainImage            string    `json:"main_image"`
	Gallery              []string  `json:"gallery"`
	IsActive             bool      `json:"is_active"`
	IsFeatured           bool      `json:"is_featured"`
	SKU                  string    `json:"sku"`
	TrackInventory       bool      `json:"track_inventory"`
	StockQuantity        int       `json:"stock_quantity"`
	LowStockThreshold    int       `json:"low_stock_threshold"`
	ContinueSelling      bool      `json:"continue_selling"`
	Condition            string    `json:"condition"`
	InvoiceAvailable     bool      `json:"invoice_available"`
	FastShipping         bool      `json:"fast_shipping"`
	WarrantyMonths       int       `json:"warranty_months"`
	CategoryID           string    `json:"category_id"`
	IsPurchasable        bool      `json:"is_purchasable"`
	HasDiscount          bool      `json:"has_discount"`
	DiscountPercentage   float64   `json:"discount_percentage"`
	Variants             []Variant `json:"variants"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Store mirrors GET /v1/store.
type Store struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Slug            string    `json:"slug"`
	Description     string    `json:"description"`
	StoreTitle      string    `json:"store_title"`
	Currency        string    `json:"currency"`
	CountryCode     string    `json:"country_code"`
	Timezone        string    `json:"timezone"`
	Status          string    `json:"status"`
	MaintenanceMode bool      `json:"maintenance_mode"`
	IsActive        bool      `json:"is_active"`
	CustomDomain    string    `json:"custom_domain"`
	DomainVerified  bool      `json:"domain_verified"`
	HasCustomDomain bool      `json:"has_custom_domain"`
	StorefrontURL   string    `json:"storefront_url"`
	PlanName        string    `json:"plan_name"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Webhook is a webhook subscription (GET /v1/webhooks). Secret is only set in
// the response to POST /v1/webhooks.
type Webhook struct {
	ID              string     `json:"id"`
	URL             string     `json:"url"`
	Events          []string   `json:"events"`
	IsActive        bool       `json:"is_active"`
	Secret          string     `json:"secret,omitempty"`
	LastTriggeredAt *time.Time `json:"last_triggered_at"`
	FailureCount    int        `json:"failure_count"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// WebhookInput is the body of POST /v1/webhooks.
type WebhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret,omitempty"`
}

// ErrorBody is the {"error":{...}} envelope of every failed response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the error envelope. Details is an array of
// {field, message} for validation errors and an object otherwise.
type ErrorDetail struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details,omitempty"`
}

// FieldError is one entry of a VALIDATION_ERROR's details.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
