// Package bpmn reads what Flowline's documents need from a BPMN 2.0 XML
// resource: a process's name and version tag, its flow nodes' ids and names
// (sub-processes included), and its call activities. It streams the XML and
// keeps nothing else.
package bpmn

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"golang.org/x/net/html/charset"
)

// FlowNode is a flow node's id and name.
type FlowNode struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Process is the part of one process definition Flowline uses.
type Process struct {
	ID         string
	Name       string
	VersionTag string
	FlowNodes  []FlowNode // in document order
	// CallActivityIDs are the ids of the call activities, sorted: Zeebe's
	// callingElementPath refers to call activities by index into this list.
	CallActivityIDs []string
}

// FlowNodeName returns the name of flow node id, or "" when it has none.
func (p *Process) FlowNodeName(id string) string {
	for _, n := range p.FlowNodes {
		if n.ID == id {
			return n.Name
		}
	}
	return ""
}

// ErrProcessNotFound: the resource holds no process with the requested id.
var ErrProcessNotFound = errors.New("bpmn: process not found in resource")

// isFlowNode reports whether a BPMN element (by local name) is a flow node.
func isFlowNode(local string) bool {
	switch {
	case strings.HasSuffix(local, "Task"), local == "task",
		strings.HasSuffix(local, "Event"), strings.HasSuffix(local, "Gateway"),
		local == "subProcess", local == "adHocSubProcess", local == "transaction", local == "callActivity":
		return true
	}
	return false
}

// newDecoder returns an XML decoder of resource in the encoding it declares
// (ISO-8859-1, windows-1252, UTF-16 with a byte order mark, ...: Zeebe's
// parser reads them all), not only UTF-8.
func newDecoder(resource []byte) *xml.Decoder {
	var r io.Reader = bytes.NewReader(resource)
	utf16 := bytes.HasPrefix(resource, []byte{0xff, 0xfe}) || bytes.HasPrefix(resource, []byte{0xfe, 0xff})
	if utf16 { // encoding/xml needs ASCII-compatible bytes to read the declaration
		r = transform.NewReader(r, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	}
	d := xml.NewDecoder(r)
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if utf16 && strings.HasPrefix(strings.ToLower(label), "utf-16") {
			return in, nil // already decoded
		}
		return charset.NewReaderLabel(label, in)
	}
	return d
}

// Parse reads the process with id processID from a BPMN XML resource.
func Parse(resource []byte, processID string) (*Process, error) {
	d := newDecoder(resource)
	var p *Process
	depth := 0 // element depth inside the wanted process; 0 = outside
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bpmn: invalid XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth > 0 {
				depth++
				p.visit(t)
				continue
			}
			if t.Name.Local == "process" && attr(t, "id") == processID {
				p = &Process{ID: processID, Name: attr(t, "name")}
				depth = 1
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
				if depth == 0 {
					sort.Strings(p.CallActivityIDs)
					return p, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrProcessNotFound, processID)
}

func (p *Process) visit(t xml.StartElement) {
	switch {
	case t.Name.Local == "versionTag" && p.VersionTag == "":
		p.VersionTag = attr(t, "value")
	case isFlowNode(t.Name.Local):
		id := attr(t, "id")
		if id == "" {
			return
		}
		p.FlowNodes = append(p.FlowNodes, FlowNode{ID: id, Name: attr(t, "name")})
		if t.Name.Local == "callActivity" {
			p.CallActivityIDs = append(p.CallActivityIDs, id)
		}
	}
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
