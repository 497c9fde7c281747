// Package wazion is WAzion's side of the service: the five CRM endpoints
// WAzion calls (sidePanel_CustomerInfo, ai_CustomerInitialInfo,
// sidePanel_CustomerFindToJoin, search_Products, globalSearch), served by
// one Server (NewServer) over a small Backend interface.
//
// It owns everything WAzion's contract says: how parameters arrive (query
// string, JSON, urlencoded or multipart body, relatedphones in any of its
// encodings), how a token selects a store, the response shapes and their
// limits, the label table in six languages, the test=true samples, and the
// rule that every answer is HTTP 200 with valid JSON before WAzion's time
// budget runs out, whatever the Backend does (fails, hangs or panics).
// Package contract checks an answer against that contract.
//
// It must not know where data comes from: no Whatalo types, no HTTP client,
// no data cache. The one thing it keeps is a store's recent answers, as
// encoded bytes, for Tenant.AnswerTTL (a second by default; answers.go),
// bounded per store and dropped by Tenants.Forget: a request repeated
// within that second is the same request, whatever the data. Caching data
// is the Backend's business. The adapter package implements Backend; this
// package never imports it or the whatalo package.
package wazion
