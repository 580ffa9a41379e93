package aggregator

import (
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
)

// operateDocuments renders the changed documents of partition p as the
// documents of Camunda's Operate and Tasklist indices (pkg/schema/operate):
// a flow node instance as its operate-flownode-instance document and its
// list-view activity child, a variable as its operate-variable document and
// its list-view variable child, and so on, each with the version of the
// Flowline document it comes from. A document that cannot be rendered is
// returned in bad, the others are rendered all the same.
//
// Every Flowline family of Zeebe's records has its projection.
func (f *recordFolder) operateDocuments(p int32) (docs []*recordv1.Document, bad []unrendered) {
	docs = make([]*recordv1.Document, 0, len(f.ch.order)*2)
	var out []operate.Doc
	for _, ch := range f.ch.order {
		out = out[:0]
		switch d := ch.doc.(type) {
		case *schema.ListViewDoc:
			out = append(out, operate.ProjectListViewInstance(d), operate.ProjectTasklistProcess(d))
		case *schema.FlowNodeInstanceDoc:
			out = append(out, operate.ProjectFlowNodeInstance(d, p), operate.ProjectListViewActivity(d, p, f.activityExtras(d)))
		case *schema.VariableDoc:
			v, lv := operate.ProjectVariable(d, d.Key, p)
			out = append(out, v, lv)
			out = append(out, operate.ProjectTasklistVariables(d, d.Key, p)...)
		case *schema.TaskDoc:
			out = append(out, operate.ProjectTask(d, p))
		case *schema.DecisionInstanceDoc:
			out = append(out, operate.ProjectDecisionInstance(d, p))
		case *schema.IncidentDoc:
			out = append(out, operate.ProjectIncident(d, p))
		case *schema.SequenceFlowDoc:
			out = append(out, operate.ProjectSequenceFlow(d))
		case *schema.JobDoc:
			if operateJobIntents[d.State] {
				out = append(out, operate.ProjectJob(d, p))
			}
		case *schema.ProcessDoc:
			if !d.Deleted { // Camunda 8.8 keeps a deleted process's document as it was
				out = append(out, operate.ProjectProcess(d))
			}
		case *schema.DecisionRequirementsDoc:
			out = append(out, operate.ProjectDecisionRequirements(d))
		case *schema.DecisionDoc:
			out = append(out, operate.ProjectDecision(d))
		case *schema.FormDoc:
			out = append(out, operate.ProjectForm(d))
		}
		for _, od := range out {
			src, err := schema.Encode(od.Source)
			if err != nil {
				bad = append(bad, unrendered{ch, err})
				continue
			}
			docs = append(docs, &recordv1.Document{
				Family: od.Index.Family(), Id: od.ID, Routing: od.Routing, Version: ch.position,
				Source: src, PartitionId: p, RecordTimestamp: ch.timestamp,
			})
		}
	}
	return docs, bad
}

// operateJobIntents are the job events Camunda's job handler writes; the
// others (YIELDED, UPDATED, TIMEOUT_UPDATED, RECURRED_AFTER_BACKOFF...)
// leave its document as it was.
var operateJobIntents = map[string]bool{
	"CREATED": true, "COMPLETED": true, "TIMED_OUT": true, "FAILED": true, "RETRIES_UPDATED": true,
	"CANCELED": true, "ERROR_THROWN": true, "MIGRATED": true,
}

// activityExtras are what a flow node instance's list-view document holds
// beyond its Flowline document: the message of its active incident, while
// the partition holds that incident.
func (f *recordFolder) activityExtras(fn *schema.FlowNodeInstanceDoc) operate.ActivityExtras {
	var x operate.ActivityExtras
	if fn.IncidentKey != nil {
		if inc := f.st.Incidents[*fn.IncidentKey]; inc != nil && inc.State == schema.StateActive {
			msg := inc.ErrorMessage
			x.ErrorMessage = &msg
			pos := inc.Position
			x.PositionIncident = &pos
		}
	}
	return x
}
