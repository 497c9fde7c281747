package wazion

import "context"

// The five endpoint names, as they appear in the route /wazion/<name>.
const (
	EndpointCustomerInfo        = "sidePanel_CustomerInfo"
	EndpointCustomerInitialInfo = "ai_CustomerInitialInfo"
	EndpointFindToJoin          = "sidePanel_CustomerFindToJoin"
	EndpointSearchProducts      = "search_Products"
	EndpointGlobalSearch        = "globalSearch"
)

// Request holds the parameters WAzion sends, already merged from query, body
// and form, with every string copied out of the server's buffers so it can be
// handed to other goroutines.
type Request struct {
	Endpoint      string
	Phone         string
	RelatedPhones []string
	Order         string // ai_CustomerInitialInfo: order number mentioned in the chat
	Email         string // ai_CustomerInitialInfo: customer email, when known
	Query         string // "query" (find-to-join, globalSearch) or "q" (search_Products)
	Format        string // search_Products: "ai" or ""
	TargetLocale  string // search_Products
	Test          bool
}

// Backend answers the five WAzion operations for one store. Implementations
// return whatever they have together with an error when part of the work
// failed or the context ran out: the handler sends both, because partial data
// with an error is better than nothing for WAzion.
type Backend interface {
	CustomerInfo(ctx context.Context, req Request) (*CustomerInfoResponse, error)
	CustomerInitialInfo(ctx context.Context, req Request) (*InitialInfoResponse, error)
	FindToJoin(ctx context.Context, req Request) (*FindToJoinResponse, error)
	SearchProducts(ctx context.Context, req Request) (*ProductSearch, error)
	GlobalSearch(ctx context.Context, req Request) (*GlobalSearchResponse, error)
}

// CustomerInfoResponse is the answer of sidePanel_CustomerInfo.
type CustomerInfoResponse struct {
	Found     bool       `json:"found"`
	Customers []Customer `json:"customers"`
	Labels    *Labels    `json:"labels,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Customer is one customer in the side panel.
type Customer struct {
	Name           string          `json:"name"`
	Email          string          `json:"email"`
	Phone          string          `json:"phone"`
	ShopURL        string          `json:"shopUrl,omitempty"`
	OrdersCount    int             `json:"ordersCount"`
	TotalSpent     float64         `json:"totalSpent"`
	TotalRefunded  float64         `json:"totalRefunded"`
	TotalDiscounts float64         `json:"totalDiscounts"`
	State          string          `json:"state"`
	Orders         []Order         `json:"orders"`
	AbandonedCarts []AbandonedCart `json:"abandonedCarts"`
}

// Order is one order in the side panel. WAzion's tracking array is left out:
// it is optional and there is no tracking data to fill it.
type Order struct {
	Name           string  `json:"name"`
	Date           string  `json:"date"`
	Amount         float64 `json:"amount"`
	NetAmount      float64 `json:"netAmount"`
	TotalRefunded  float64 `json:"totalRefunded"`
	TotalDiscounts float64 `json:"totalDiscounts"`
	Currency       string  `json:"currency"`
	Cancelled      bool    `json:"cancelled"`
	ShopURL        string  `json:"shopUrl,omitempty"`
	Note           string  `json:"note"`
	Items          []Item  `json:"items"`
}

// Item statuses.
const (
	ItemActive            = "active"
	ItemPartiallyRefunded = "partially_refunded"
	ItemFullyRefunded     = "fully_refunded"
)

// Item is one line of an order.
type Item struct {
	Title            string  `json:"title"`
	Quantity         int     `json:"quantity"`
	CurrentQuantity  int     `json:"currentQuantity"`
	Amount           float64 `json:"amount"`
	OriginalAmount   float64 `json:"originalAmount"`
	DiscountedAmount float64 `json:"discountedAmount"`
	Discount         float64 `json:"discount"`
	RefundedQuantity int     `json:"refundedQuantity"`
	RefundedAmount   float64 `json:"refundedAmount"`
	Status           string  `json:"status"`
}

// AbandonedCart is a checkout the customer left.
type AbandonedCart struct {
	Date  string     `json:"date"`
	URL   string     `json:"url"`
	Items []CartItem `json:"items"`
}

// CartItem is one line of an abandoned cart.
type CartItem struct {
	Title    string  `json:"title"`
	Quantity int     `json:"quantity"`
	Amount   float64 `json:"amount"`
}

// InitialInfoResponse is the answer of ai_CustomerInitialInfo.
type InitialInfoResponse struct {
	Found bool   `json:"found"`
	Info  string `json:"info"`
	Error string `json:"error,omitempty"`
}

// FindToJoinResponse is the answer of sidePanel_CustomerFindToJoin.
type FindToJoinResponse struct {
	Customers []JoinCustomer `json:"customers"`
	Error     string         `json:"error,omitempty"`
}

// JoinCustomer is a candidate to link to the conversation.
type JoinCustomer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// GlobalSearchResponse is the answer of globalSearch.
type GlobalSearchResponse struct {
	Found     bool             `json:"found"`
	Customers []GlobalCustomer `json:"customers"`
	Error     string           `json:"error,omitempty"`
}

// GlobalCustomer is one hit of the floating search.
type GlobalCustomer struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Email       string      `json:"email"`
	Phone       string      `json:"phone"`
	CustomerURL string      `json:"customerUrl,omitempty"`
	Orders      []OrderLink `json:"orders"`
}

// OrderLink is one recent order of a GlobalCustomer.
type OrderLink struct {
	Number string `json:"number"`
	URL    string `json:"url,omitempty"`
}

// ProductSearch is what a Backend finds for search_Products, in neutral form;
// the handler renders it in WAzion's normal or AI format.
type ProductSearch struct {
	Products []Product
	Locale   string // locale used for titles and URLs, e.g. "es"
	Raw      any    // source summary, sent as "raw" in the normal format
}

// Product is a product found by search_Products. Description is plain text
// (HTML already stripped) and complete; the normal format cuts it.
type Product struct {
	Title       string
	TitleCopy   string
	Handle      string
	Description string
	SKU         string
	Image       string
	URL         string
	Price       float64
	Currency    string
	InStock     *bool
	Variants    []Variant
}

// Variant is a product variant; URL already carries ?variant=ID.
type Variant struct {
	ID             string
	Title          string
	TitleCopy      string
	HasCustomTitle bool
	SKU            string
	Image          string
	URL            string
	Price          float64
}
