package ycsb

import (
	"math/rand/v2"
	"testing"
)

// No record is longer than MaxRecordLen, and the longest ones reach it
// within the separator a last field does not have.
func TestMaxRecordLen(t *testing.T) {
	for _, props := range []Properties{
		{"fieldcount": "1", "fieldlength": "1024"},
		{"fieldcount": "12", "fieldlength": "100", "fieldlengthdistribution": "uniform"},
		{"fieldcount": "10", "fieldlength": "8", "fieldnameprefix": "attr"},
	} {
		w := mustWorkload(t, props)
		r := rand.New(rand.NewPCG(1, 2))
		all := make([]int, w.FieldCount)
		for i := range all {
			all[i] = i
		}
		longest := 0
		for range 200 {
			longest = max(longest, len(w.appendRecord(nil, r, w.fieldLengthGen(), all)))
		}
		if limit := w.MaxRecordLen(); longest > limit || props["fieldlengthdistribution"] == "" && longest < limit-1 {
			t.Errorf("%v: longest record %d bytes, MaxRecordLen %d", props, longest, limit)
		}
	}
}
