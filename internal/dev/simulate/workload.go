package simulate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Workload names a generated workload.
type Workload string

// The workloads of `flowline generate`.
const (
	// Typical is Zeebe's benchmark process: ten service tasks, an exclusive
	// gateway, two timers, 14 start variables of about 0.5 KB.
	Typical Workload = "typical"
	// Realistic is a card dispute: a business rule task with a decision, a
	// user task, an embedded sub-process with a multi-instance task over
	// MultiInstanceItems positions, a call activity and a timer.
	Realistic Workload = "realistic"
)

// ErrUnknownWorkload: a workload name other than typical or realistic.
var ErrUnknownWorkload = errors.New("simulate: unknown workload")

// Workloads lists the workload names.
func Workloads() []Workload { return []Workload{Typical, Realistic} }

// evaluation is a decision table's evaluation: its input, the matched rule
// and its output (values are JSON text).
type evaluation struct {
	InputID, InputName, Input    string
	RuleID                       string
	RuleIndex                    int32
	OutputID, OutputName, Output string
}

// kv is a variable: its name and its value as JSON text.
type kv struct{ Name, Value string }

// spec is what a workload deploys and how its simulated clients, job
// workers, users and decisions behave. Specs are immutable.
type spec struct {
	processes []processResource // the first is the one instances start
	decisions []decisionResource
	// startVariables are the variables a client creates an instance with.
	startVariables func(rng *rand.Rand, items int) []kv
	// jobOutput is what a worker completes a job of the type with.
	jobOutput func(rng *rand.Rand, jobType, elementID string, key int64, vars func(string) string) []kv
	// evaluate evaluates a decision table with the variables visible.
	evaluate func(decisionID string, vars func(string) string) evaluation
	// taskOutput is what a user completes a user task with.
	taskOutput func(rng *rand.Rand) []kv
}

func workloadSpec(w Workload) (*spec, error) {
	switch w {
	case Typical:
		return typicalSpec, nil
	case Realistic:
		return realisticSpec, nil
	}
	return nil, fmt.Errorf("%w %q (want %s or %s)", ErrUnknownWorkload, w, Typical, Realistic)
}

var typicalSpec = &spec{
	processes:      []processResource{{"typical.bpmn", "flowline-typical"}},
	startVariables: typicalStart,
	jobOutput: func(_ *rand.Rand, _, elementID string, _ int64, _ func(string) string) []kv {
		return []kv{{"lastTask", jsonString(elementID)}}
	},
}

// typicalStart is the benchmark payload: 14 variables, about 0.5 KB; var2
// (the gateway's condition) is true for 9 instances in 10.
func typicalStart(rng *rand.Rand, _ int) []kv {
	n := rng.IntN(1_000_000)
	return []kv{
		{"orderId", jsonString(fmt.Sprintf("ORD-%06d", n))},
		{"customerId", jsonString(fmt.Sprintf("C-%05d", rng.IntN(100_000)))},
		{"customerName", jsonString(pick(rng, "Anna Schmidt", "Bob Jones", "Carla Rossi", "Deniz Kaya"))},
		{"email", jsonString(fmt.Sprintf("customer%d@example.com", n))},
		{"var1", jsonString("benchmark")},
		{"var2", strconv.FormatBool(rng.IntN(10) != 0)},
		{"amount", strconv.FormatFloat(float64(rng.IntN(100_000))/100, 'f', -1, 64)},
		{"currency", jsonString("EUR")},
		{"items", fmt.Sprintf(`[{"sku":"SKU-%d","qty":%d},{"sku":"SKU-%d","qty":%d}]`, rng.IntN(9000)+1000, rng.IntN(5)+1, rng.IntN(9000)+1000, rng.IntN(5)+1)},
		{"shippingAddress", `{"name":"Order recipient","street":"Hauptstrasse 12","city":"Berlin","zip":"10115","country":"DE"}`},
		{"priority", strconv.Itoa(rng.IntN(3) + 1)},
		{"channel", jsonString(pick(rng, "web", "app", "store"))},
		{"notes", jsonString("leave the parcel with the neighbour at number 14 if nobody answers; call before delivery after 6 pm")},
		{"tags", `["benchmark","typical"]`},
	}
}

var realisticSpec = &spec{
	processes: []processResource{{"realistic.bpmn", "flowline-dispute"}, {"notify.bpmn", "flowline-notify"}},
	decisions: []decisionResource{{
		File: "dispute-risk.dmn", DRGID: "flowline-dispute-decisions", DRGName: "Dispute decisions",
		Namespace: "http://camunda.org/schema/1.0/dmn", Decisions: []decisionDef{{"dispute-risk", "Dispute risk"}},
	}},
	startVariables: realisticStart,
	jobOutput:      realisticJobOutput,
	evaluate: func(_ string, vars func(string) string) evaluation {
		ev := evaluation{InputID: "in-amount", InputName: "Disputed amount", Input: vars("amount"),
			RuleID: "rule-low", RuleIndex: 2, OutputID: "out-risk", OutputName: "risk", Output: jsonString("low")}
		if f, err := strconv.ParseFloat(ev.Input, 64); err == nil && f >= 1000 {
			ev.RuleID, ev.RuleIndex, ev.Output = "rule-high", 1, jsonString("high")
		}
		return ev
	},
	taskOutput: func(rng *rand.Rand) []kv {
		return []kv{{"reviewOutcome", jsonString(pick(rng, "accepted", "accepted", "rejected"))}, {"reviewer", jsonString("demo")}}
	},
}

// realisticStart: a dispute over items positions.
func realisticStart(rng *rand.Rand, items int) []kv {
	n := rng.IntN(1_000_000)
	var pos strings.Builder
	pos.WriteByte('[')
	for i := range items {
		if i > 0 {
			pos.WriteByte(',')
		}
		fmt.Fprintf(&pos, `{"id":"P-%d","amount":%d.%02d,"merchant":"%s","date":"2026-10-%02d"}`,
			i+1, rng.IntN(300), rng.IntN(100), pick(rng, "Grocer", "Airline", "Hotel", "Webshop"), rng.IntN(28)+1)
	}
	pos.WriteByte(']')
	return []kv{
		{"disputeId", jsonString(fmt.Sprintf("D-%06d", n))},
		{"customer", fmt.Sprintf(`{"id":"C-%05d","name":"%s","segment":"%s"}`, rng.IntN(100_000),
			pick(rng, "Anna Schmidt", "Bob Jones", "Carla Rossi"), pick(rng, "retail", "premium"))},
		{"amount", strconv.Itoa(rng.IntN(3000) + 20)},
		{"currency", jsonString("EUR")},
		{"card", jsonString(fmt.Sprintf("**** **** **** %04d", rng.IntN(10_000)))},
		{"reason", jsonString(pick(rng, "not received", "duplicate charge", "fraud suspected"))},
		{"positions", pos.String()},
		{"channel", jsonString(pick(rng, "app", "phone", "branch"))},
	}
}

func realisticJobOutput(rng *rand.Rand, jobType, _ string, key int64, vars func(string) string) []kv {
	switch jobType {
	case "dispute.validate":
		return []kv{{"validated", "true"}}
	case "dispute.collect-evidence":
		return []kv{{"evidence", `["statement.pdf","receipt.jpg"]`}}
	case "dispute.check-position":
		return []kv{{"positionStatus", jsonString(pick(rng, "confirmed", "confirmed", "chargeback"))}}
	case "dispute.settle":
		return []kv{{"settlement", fmt.Sprintf(`{"refund":%s,"status":"closed"}`, vars("amount"))}}
	case "notify.compose":
		return []kv{{"letterId", jsonString("L-" + strconv.FormatInt(key, 10))}}
	case "notify.send":
		return []kv{{"letterSent", "true"}}
	}
	return nil
}

func pick(rng *rand.Rand, s ...string) string { return s[rng.IntN(len(s))] }

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
