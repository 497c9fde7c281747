package wazion

// WAzion calls an endpoint with test=true when a shop checks its CRM
// settings. The answers below are fixed samples in the documented shapes,
// built from WAzion's own examples, so the check proves the URL, token and
// JSON without touching the store.

func boolPtr(b bool) *bool { return &b }

// testCustomerInfo is the sample of sidePanel_CustomerInfo, with the full
// order, item and abandoned cart structure WAzion documents.
func testCustomerInfo(labels *Labels) *CustomerInfoResponse {
	return &CustomerInfoResponse{
		Found: true,
		Customers: []Customer{{
			Name:           "Cliente de Prueba",
			Email:          "test@example.com",
			Phone:          "+34612345678",
			ShopURL:        "https://tucrm.com/cliente/123",
			OrdersCount:    3,
			TotalSpent:     150.00,
			TotalRefunded:  0,
			TotalDiscounts: 10.00,
			State:          labels.Text(StateRecentOrders),
			Orders: []Order{{
				Name:           "#ORD-2025-001",
				Date:           "2025-01-10T14:30:00Z",
				Amount:         129.99,
				NetAmount:      104.99,
				TotalRefunded:  25.00,
				TotalDiscounts: 10.00,
				Currency:       "EUR",
				Cancelled:      false,
				ShopURL:        "https://tucrm.com/pedidos/1234",
				Note:           "Entregar por la tarde",
				Items: []Item{{
					Title:            "Camiseta Premium Azul - Talla L",
					Quantity:         2,
					CurrentQuantity:  2,
					Amount:           59.98,
					OriginalAmount:   59.98,
					DiscountedAmount: 59.98,
					Discount:         0,
					RefundedQuantity: 0,
					RefundedAmount:   0,
					Status:           ItemActive,
				}},
			}},
			AbandonedCarts: []AbandonedCart{{
				Date: "2025-01-14T18:45:00Z",
				URL:  "https://tucrm.com/cart/recover/abc123",
				Items: []CartItem{{
					Title:    "Zapatillas Running Pro",
					Quantity: 1,
					Amount:   129.99,
				}},
			}},
		}},
		Labels: labels,
	}
}

// testInitialInfo is the sample of ai_CustomerInitialInfo.
func testInitialInfo(labels *Labels) *InitialInfoResponse {
	return &InitialInfoResponse{
		Found: true,
		Info: "Cliente: Cliente de Prueba (test@example.com, +34612345678).\n" +
			labels.CustomerState + ": " + labels.StateRecentOrders + ". Total pedidos: 3. Total gastado: 150.00 EUR.\n" +
			"Último pedido: #ORD-2025-001 (10/01/2025), entregado, pagado, 129.99 EUR: 2x Camiseta Premium Azul - Talla L.\n" +
			"Productos frecuentes: Camisetas, Zapatillas.\n" +
			"Nota: Entregar por la tarde.",
	}
}

// testFindToJoin is the sample of sidePanel_CustomerFindToJoin.
func testFindToJoin(*Labels) *FindToJoinResponse {
	return &FindToJoinResponse{Customers: []JoinCustomer{
		{ID: "cust_123", Name: "Juan García", Email: "juan@email.com", Phone: "+34612345678"},
		{ID: "cust_456", Name: "Juan Martínez", Email: "juanm@email.com", Phone: "+34687654321"},
	}}
}

// testProductSearch is the sample of search_Products, rendered in the
// requested format like a real answer.
func testProductSearch(*Labels) *ProductSearch {
	return &ProductSearch{
		Locale: "en",
		Raw:    map[string]any{"source": "test", "query": "camiseta"},
		Products: []Product{{
			Title:       "Camiseta Premium",
			TitleCopy:   "Premium T-Shirt",
			Handle:      "camiseta-premium",
			Description: "Camiseta de algodón orgánico, corte clásico y tacto suave. Lavable a 30 °C.",
			SKU:         "CAM-001",
			Image:       "https://tutienda.es/images/camiseta-premium.jpg",
			URL:         "https://tutienda.es/products/camiseta-premium",
			Price:       24.90,
			Currency:    "EUR",
			InStock:     boolPtr(true),
			Variants: []Variant{{
				ID:             "12345678",
				Title:          "M / Rojo",
				TitleCopy:      "M / Red",
				HasCustomTitle: true,
				SKU:            "CAM-001-M-RED",
				Image:          "https://tutienda.es/images/camiseta-premium-rojo.jpg",
				URL:            "https://tutienda.es/products/camiseta-premium?variant=12345678",
				Price:          24.90,
			}},
		}},
	}
}

// testGlobalSearch is the sample of globalSearch.
func testGlobalSearch(*Labels) *GlobalSearchResponse {
	return &GlobalSearchResponse{
		Found: true,
		Customers: []GlobalCustomer{{
			ID:          "cust_123",
			Name:        "Juan García López",
			Email:       "juan.garcia@email.com",
			Phone:       "+34612345678",
			CustomerURL: "https://tucrm.com/clientes/123",
			Orders: []OrderLink{
				{Number: "#ORD-1234", URL: "https://tucrm.com/pedidos/1234"},
				{Number: "#ORD-1233", URL: "https://tucrm.com/pedidos/1233"},
			},
		}},
	}
}
