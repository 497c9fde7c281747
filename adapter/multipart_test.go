package adapter_test

import (
	"bytes"
	"mime/multipart"
	"sort"
)

// newMultipart writes fields as a multipart/form-data body and returns its
// content type.
func newMultipart(buf *bytes.Buffer, fields map[string]string) string {
	w := multipart.NewWriter(buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.WriteField(k, fields[k])
	}
	w.Close()
	return w.FormDataContentType()
}
