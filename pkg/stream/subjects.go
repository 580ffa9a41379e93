// Package stream owns Flowline's JetStream topology: the connection, the
// streams and their subjects, and dead-lettering.
//
// Subjects: raw records of partition P on flowline.records.P (stream
// FLOWLINE_RECORDS, file storage, kept for RecordsMaxAge); entity documents
// built from them on flowline.docs.P (stream FLOWLINE_DOCS, work queue: a
// document message is gone once a writer acked it); anything a service
// cannot process on flowline.dlq.<service> (stream FLOWLINE_DLQ) with the
// reason in a header.
package stream

import (
	"fmt"
	"strconv"
	"strings"
)

// Stream names.
const (
	RecordsStream = "FLOWLINE_RECORDS"
	DocsStream    = "FLOWLINE_DOCS"
	DLQStream     = "FLOWLINE_DLQ"
)

// Subject roots.
const (
	recordsRoot = "flowline.records."
	docsRoot    = "flowline.docs."
	dlqRoot     = "flowline.dlq."
)

// Message headers Flowline sets besides Nats-Msg-Id and trace context.
const (
	// HeaderFirstPosition and HeaderLastPosition give the record positions a
	// record or document message covers.
	HeaderFirstPosition = "Flowline-First-Position"
	HeaderLastPosition  = "Flowline-Last-Position"
	// HeaderDLQReason says why a message was dead-lettered.
	HeaderDLQReason = "Flowline-Dlq-Reason"
	// HeaderDLQSubject and HeaderDLQSequence name the message that failed.
	HeaderDLQSubject  = "Flowline-Dlq-Subject"
	HeaderDLQSequence = "Flowline-Dlq-Stream-Sequence"
	// HeaderDLQIndex and HeaderDLQID name a document Elasticsearch rejected.
	HeaderDLQIndex = "Flowline-Dlq-Index"
	HeaderDLQID    = "Flowline-Dlq-Id"
)

// RecordsSubject is the subject of partition p's records.
func RecordsSubject(p int32) string { return recordsRoot + strconv.Itoa(int(p)) }

// DocsSubject is the subject of the documents built from partition p.
func DocsSubject(p int32) string { return docsRoot + strconv.Itoa(int(p)) }

// DLQSubject is the dead-letter subject of a service.
func DLQSubject(service string) string { return dlqRoot + service }

// AllRecords, AllDocs and AllDLQ are the wildcard subjects of each stream.
const (
	AllRecords = recordsRoot + ">"
	AllDocs    = docsRoot + ">"
	AllDLQ     = dlqRoot + ">"
)

// PartitionOf parses the partition id from a records or docs subject.
func PartitionOf(subject string) (int32, error) {
	i := strings.LastIndexByte(subject, '.')
	p, err := strconv.ParseInt(subject[i+1:], 10, 32)
	if err != nil || p < 0 {
		return 0, fmt.Errorf("stream: subject %q does not end in a partition id", subject)
	}
	return int32(p), nil
}
