package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/nats-io/nats.go"
)

// RecordsMsg is the message storing partition p's records at positions
// first..last (data: an encoded RecordBatch). Its Nats-Msg-Id,
// rec-<p>-<first>-<last>, makes a re-sent batch a duplicate within the
// stream's dedupe window.
func RecordsMsg(p int32, first, last int64, data []byte) *nats.Msg {
	return batchMsg(RecordsSubject(p), "rec-", p, first, last, data)
}

// DocsMsg is the message carrying the documents built from partition p's
// records at positions first..last (data: an encoded DocumentBatch), with
// the message id doc-<p>-<first>-<last>.
func DocsMsg(p int32, first, last int64, data []byte) *nats.Msg {
	return batchMsg(DocsSubject(p), "doc-", p, first, last, data)
}

func batchMsg(subject, idPrefix string, p int32, first, last int64, data []byte) *nats.Msg {
	firstS, lastS := strconv.FormatInt(first, 10), strconv.FormatInt(last, 10)
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	m.Header.Set(nats.MsgIdHdr, idPrefix+strconv.Itoa(int(p))+"-"+firstS+"-"+lastS)
	m.Header.Set(HeaderFirstPosition, firstS)
	m.Header.Set(HeaderLastPosition, lastS)
	return m
}

// C7PageMsg is the message storing n Camunda 7 entities of kind imported
// from source, whose timestamps run from first to last (epoch ms); data is
// their JSON array. Its message id, c7-<source>-<kind>-<first>-<last>-<n>-
// <hash of data>, makes a page stored again with the same content a
// duplicate within the dedupe window.
func C7PageMsg(source, kind string, first, last int64, n int, data []byte) *nats.Msg {
	firstS, lastS := strconv.FormatInt(first, 10), strconv.FormatInt(last, 10)
	sum := sha256.Sum256(data)
	m := &nats.Msg{Subject: C7Subject(source, kind), Data: data, Header: nats.Header{}}
	m.Header.Set(nats.MsgIdHdr, "c7-"+source+"-"+kind+"-"+firstS+"-"+lastS+"-"+strconv.Itoa(n)+"-"+hex.EncodeToString(sum[:8]))
	m.Header.Set(HeaderC7Source, source)
	m.Header.Set(HeaderC7Kind, kind)
	m.Header.Set(HeaderC7FirstTime, firstS)
	m.Header.Set(HeaderC7LastTime, lastS)
	return m
}
