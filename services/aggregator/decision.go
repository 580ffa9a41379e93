package aggregator

import (
	"strconv"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// decisionEvaluation folds DECISION_EVALUATION EVALUATED / FAILED into one
// decision-instance document per evaluated decision, id <recordKey>-<i>
// (i from 1). On FAILED the failing decision is FAILED with the failure
// message; if the engine did not list it, it is added last.
func (f *recordFolder) decisionEvaluation(r *recordv1.Record, v *recordv1.DecisionEvaluationValue) {
	if r.Intent != "EVALUATED" && r.Intent != "FAILED" {
		f.ignore(r.ValueType + "." + r.Intent)
		return
	}
	failed := r.Intent == "FAILED"
	decisions := v.EvaluatedDecisions
	if failed && !hasDecision(decisions, v.FailedDecisionId) {
		decisions = append(decisions[:len(decisions):len(decisions)], &recordv1.EvaluatedDecisionValue{
			DecisionId: v.FailedDecisionId, DecisionName: v.DecisionName, DecisionKey: v.DecisionKey,
			DecisionVersion: v.DecisionVersion, TenantId: v.TenantId,
		})
	}
	for i, d := range decisions {
		doc := &schema.DecisionInstanceDoc{
			DecisionID: d.DecisionId, DecisionName: d.DecisionName, DecisionType: d.DecisionType,
			DecisionVersion: d.DecisionVersion, DecisionKey: d.DecisionKey, DecisionRequirementsKey: v.DecisionRequirementsKey,
			State: schema.StateEvaluated, EvaluationDate: schema.FormatDate(r.Timestamp), ProcessInstanceKey: v.ProcessInstanceKey,
			ProcessDefinitionKey: v.ProcessDefinitionKey, FlowNodeInstanceKey: v.ElementInstanceKey, ElementID: v.ElementId,
			EvaluatedInputs: []schema.EvaluatedInput{}, EvaluatedOutputs: []schema.EvaluatedOutput{}, Result: d.DecisionOutput,
			TenantID: v.TenantId, Position: r.Position,
			Operate: schema.DecisionInstanceOperate{
				Key: r.Key, ExecutionIndex: i + 1, BpmnProcessID: v.BpmnProcessId, DecisionRequirementsID: v.DecisionRequirementsId,
				RootDecisionID: v.DecisionId, RootDecisionName: v.DecisionName, RootDecisionKey: v.DecisionKey,
			},
		}
		if failed && d.DecisionId == v.FailedDecisionId {
			doc.State, doc.EvaluationFailure = schema.StateFailed, optionalString(v.EvaluationFailureMessage)
			doc.Operate.EvaluationFailureMessage = v.EvaluationFailureMessage
		}
		for _, in := range d.EvaluatedInputs {
			doc.EvaluatedInputs = append(doc.EvaluatedInputs, schema.EvaluatedInput{ID: in.InputId, Name: in.InputName, Value: in.InputValue})
		}
		for _, rule := range d.MatchedRules {
			for _, out := range rule.EvaluatedOutputs {
				doc.EvaluatedOutputs = append(doc.EvaluatedOutputs, schema.EvaluatedOutput{
					ID: out.OutputId, Name: out.OutputName, Value: out.OutputValue, RuleID: rule.RuleId, RuleIndex: rule.RuleIndex,
				})
			}
		}
		f.emit(schema.DecisionInstance, strconv.FormatInt(r.Key, 10)+"-"+strconv.Itoa(i+1), doc, r)
	}
}

func hasDecision(ds []*recordv1.EvaluatedDecisionValue, id string) bool {
	for _, d := range ds {
		if d.DecisionId == id {
			return true
		}
	}
	return false
}
