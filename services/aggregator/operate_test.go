package aggregator

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema/operate"
)

// TestGoldenInTheOperateSchema folds every golden fixture into the
// documents of Camunda's indices: each fits its index's strict mappings,
// the list-view children are routed by their process instance, every
// flow node instance and variable of the Flowline run has its
// Operate documents, and how records are cut into messages changes nothing.
func TestGoldenInTheOperateSchema(t *testing.T) {
	byFamily := map[string]*operate.Index{}
	for i := range operate.Indices {
		byFamily[operate.Indices[i].Family()] = &operate.Indices[i]
	}
	for _, fx := range goldenFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(goldenDir, fx.name+".ndjson")
			docs := foldGoldenIn(t, path, goldenChunk, config.SchemaOperate)
			flowline := foldGolden(t, path, goldenChunk)
			counts := map[string]int{}
			for k, d := range docs {
				fam, rest, _ := strings.Cut(k, "/")
				ix := byFamily[fam]
				if ix == nil {
					t.Errorf("%s: family %s is not an operate index", k, fam)
					continue
				}
				counts[fam]++
				if bad := ix.Undeclared(d.source); len(bad) > 0 {
					t.Errorf("%s: fields not in %s's mappings: %v", k, ix.FQN(""), bad)
				}
				if fam != "operate-list-view" {
					continue
				}
				var lv struct {
					ProcessInstanceKey json.Number `json:"processInstanceKey"`
					JoinRelation       struct {
						Name   string      `json:"name"`
						Parent json.Number `json:"parent"`
					} `json:"joinRelation"`
				}
				if err := json.Unmarshal(d.source, &lv); err != nil {
					t.Fatal(err)
				}
				_, routing, routed := strings.Cut(rest, "@")
				switch lv.JoinRelation.Name {
				case "processInstance":
					if routed || lv.JoinRelation.Parent != "" {
						t.Errorf("%s: a process instance is neither routed nor a child: %s", k, d.source)
					}
				case "activity", "variable":
					if !routed || routing != string(lv.ProcessInstanceKey) || string(lv.JoinRelation.Parent) != routing {
						t.Errorf("%s: child not routed by and joined to its process instance %s: %s", k, lv.ProcessInstanceKey, d.source)
					}
				default:
					t.Errorf("%s: joinRelation %q", k, lv.JoinRelation.Name)
				}
			}
			want := map[string]int{}
			locals := 0
			for k, d := range flowline {
				fam, _, _ := strings.Cut(k, "/")
				want[fam]++
				if fam == "variable" {
					var v struct{ ScopeKey, ProcessInstanceKey int64 }
					if err := json.Unmarshal(d.source, &v); err != nil {
						t.Fatal(err)
					}
					if v.ScopeKey != v.ProcessInstanceKey {
						locals++
					}
				}
			}
			for fam, n := range map[string]int{
				"operate-flownode-instance": want["flownode-instance"], "operate-variable": want["variable"],
				"operate-incident": want["incident"], "operate-job": want["job"], "operate-process": want["process"],
				"operate-list-view":         want["list-view"] + want["flownode-instance"] + want["variable"],
				"tasklist-task":             want["list-view"] + want["variable"] + locals + want["task"],
				"operate-decision-instance": want["decision-instance"],
			} {
				if counts[fam] != n {
					t.Errorf("%d %s documents, want %d (from the Flowline run)", counts[fam], fam, n)
				}
			}
			for _, chunk := range []int{1, 7} {
				other := foldGoldenIn(t, path, chunk, config.SchemaOperate)
				if len(other) != len(docs) {
					t.Errorf("messages of %d records: %d documents, want %d", chunk, len(other), len(docs))
				}
				for k, d := range docs {
					if o, ok := other[k]; !ok || string(o.source) != string(d.source) {
						t.Errorf("messages of %d records: %s differs", chunk, k)
					}
				}
			}
		})
	}
}
