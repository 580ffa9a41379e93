package bpmn

import (
	"errors"
	"os"
	"reflect"
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
