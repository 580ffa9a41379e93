// Package stream owns Flowline's JetStream topology: the connection, the
// streams and their subjects, and dead-lettering.
//
// Subjects: raw records of partition P on flowline.records.P (stream
// FLOWLINE_RECORDS, file storage, kept for RecordsMaxAge); entity documents
// built from them on flowline.docs.P (stream FLOWLINE_DOCS, work queue: a
// document message is gone once a writer acked it); anything a service
// cannot process on flowline.dlq.<service> (stream FLOWLINE_DLQ) with the
// reason in a header. Camunda 7 history pages imported from the engine of
// source S, entity kind K, on flowline.c7.S.K (stream FLOWLINE_C7, kept like
// the records).
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
	C7Stream      = "FLOWLINE_C7"
)

// Subject roots.
const (
	recordsRoot = "flowline.records."
	docsRoot    = "flowline.docs."
	dlqRoot     = "flowline.dlq."
	c7Root      = "flowline.c7."
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
	// HeaderC7Source and HeaderC7Kind name the source and entity kind of a
	// Camunda 7 page; HeaderC7FirstTime and HeaderC7LastTime give the
	// timestamps (epoch ms) of its first and last entity.
	HeaderC7Source    = "Flowline-C7-Source"
	HeaderC7Kind      = "Flowline-C7-Kind"
	HeaderC7FirstTime = "Flowline-C7-First-Time"
	HeaderC7LastTime  = "Flowline-C7-Last-Time"
)

// RecordsSubject is the subject of partition p's records.
func RecordsSubject(p int32) string { return recordsRoot + strconv.Itoa(int(p)) }

// DocsSubject is the subject of the documents built from partition p.
func DocsSubject(p int32) string { return docsRoot + strconv.Itoa(int(p)) }

// DLQSubject is the dead-letter subject of a service.
func DLQSubject(service string) string { return dlqRoot + service }

// C7Subject is the subject of the Camunda 7 pages of entity kind kind
// imported from source.
func C7Subject(source, kind string) string { return c7Root + source + "." + kind }

// C7SourceSubjects is the wildcard subject of every page of source.
func C7SourceSubjects(source string) string { return c7Root + source + ".>" }

// C7DocsSubject is the subject of the documents built from source's pages
// (on the documents stream, beside the partitions' flowline.docs.<P>).
func C7DocsSubject(source string) string { return docsRoot + "c7." + source }

// IsC7DocsSubject reports whether subject is a Camunda 7 source's
// documents subject (C7DocsSubject).
func IsC7DocsSubject(subject string) bool {
	source, ok := strings.CutPrefix(subject, docsRoot+"c7.")
	return ok && source != "" && !strings.Contains(source, ".")
}

// C7SourceOf returns the source of a page subject flowline.c7.<source>.<kind>.
func C7SourceOf(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, c7Root)
	if !ok {
		return "", false
	}
	source, kind, ok := strings.Cut(rest, ".")
	return source, ok && source != "" && kind != ""
}

// AllRecords, AllDocs, AllDLQ and AllC7 are the wildcard subjects of each
// stream.
const (
	AllRecords = recordsRoot + ">"
	AllDocs    = docsRoot + ">"
	AllDLQ     = dlqRoot + ">"
	AllC7      = c7Root + ">"
)

// PartitionOf parses the partition id from a records or docs subject
// (flowline.records.<P>, flowline.docs.<P>); any other subject, such as a
// Camunda 7 source's documents (C7DocsSubject), is none.
func PartitionOf(subject string) (int32, error) {
	i := strings.LastIndexByte(subject, '.')
	p, err := strconv.ParseInt(subject[i+1:], 10, 32)
	if err != nil || p < 0 || strings.Count(subject, ".") != 2 {
		return 0, fmt.Errorf("stream: subject %q does not end in a partition id", subject)
	}
	return int32(p), nil
}
