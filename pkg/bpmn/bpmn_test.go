package bpmn

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	xml, err := os.ReadFile("testdata/order.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(xml, "order")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Order & Ship" || p.VersionTag != "v2.1" {
		t.Errorf("name %q, version tag %q", p.Name, p.VersionTag)
	}
	wantNodes := []FlowNode{
		{"start", "Order received"}, {"pay", "Pay"}, {"payTimeout", ""}, {"gw", "Paid?"}, {"shipping", "Shipping"},
		{"shipStart", ""}, {"ship", "Ship it"}, {"check", "Check parcel"}, {"notify", "Notify"}, {"rate", "Rate"}, {"end", "Done"},
	}
	if !reflect.DeepEqual(p.FlowNodes, wantNodes) {
		t.Errorf("flow nodes\n got  %v\n want %v", p.FlowNodes, wantNodes)
	}
	if !reflect.DeepEqual(p.CallActivityIDs, []string{"notify", "ship"}) {
		t.Errorf("call activities %v, want sorted [notify ship]", p.CallActivityIDs)
	}
	if p.FlowNodeName("check") != "Check parcel" || p.FlowNodeName("f1") != "" {
		t.Error("FlowNodeName")
	}

	if _, err := Parse(xml, "missing"); !errors.Is(err, ErrProcessNotFound) {
		t.Errorf("missing process: %v", err)
	}
	if _, err := Parse([]byte("<bpmn:definitions><bpmn:process id='x'>"), "x"); err == nil {
		t.Error("truncated XML: want error")
	}
}

// TestParseReadsTheEncodingTheResourceDeclares: a resource in ISO-8859-1,
// windows-1252 or UTF-16 (which Zeebe's parser reads) gives the same
// process and names as its UTF-8 form.
func TestParseReadsTheEncodingTheResourceDeclares(t *testing.T) {
	const body = `<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="Prüfung €"><bpmn:startEvent id="s" name="Bestätigt"/></bpmn:process></bpmn:definitions>`
	latin1 := func(s string) []byte { // every rune below 256, one byte each
		var b []byte
		for _, r := range s {
			if r == '€' {
				b = append(b, 0x80) // windows-1252
				continue
			}
			b = append(b, byte(r))
		}
		return b
	}
	utf16 := func(s string) []byte {
		b := []byte{0xff, 0xfe} // byte order mark, little endian
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		resource []byte
		want     string
	}{
		{"UTF-8", []byte(`<?xml version="1.0" encoding="UTF-8"?>` + body), "Prüfung €"},
		{"ISO-8859-1", latin1(`<?xml version="1.0" encoding="ISO-8859-1"?>` + strings.ReplaceAll(body, " €", "")), "Prüfung"},
		{"windows-1252", latin1(`<?xml version="1.0" encoding="windows-1252"?>` + body), "Prüfung €"},
		{"UTF-16", utf16(`<?xml version="1.0" encoding="UTF-16"?>` + body), "Prüfung €"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.resource, "p")
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.want || p.FlowNodeName("s") != "Bestätigt" {
				t.Errorf("process %q, start event %q; want %q and %q", p.Name, p.FlowNodeName("s"), tc.want, "Bestätigt")
			}
		})
	}
}
