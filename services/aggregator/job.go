package aggregator

import (
	"encoding/json"
	"strconv"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
)

// jobEnds are the job intents that set endTime: as in the Camunda exporter,
// only completion and cancellation (a failed job may still get retries, a
// thrown error may still be handled by the job's own element).

// job folds any JOB event: every record holds the whole job, and its state
// is the record's intent (CREATED, COMPLETED, FAILED, TIMED_OUT, ...).
func (f *recordFolder) job(r *recordv1.Record, v *recordv1.JobValue) {
	headers := json.RawMessage(v.CustomHeadersJson)
	if len(headers) == 0 {
		headers = json.RawMessage("{}")
	}
	doc := &schema.JobDoc{
		Key: r.Key, ProcessInstanceKey: v.ProcessInstanceKey, FlowNodeInstanceKey: v.ElementInstanceKey,
		FlowNodeID: v.ElementId, Type: v.Type, Worker: v.Worker, Retries: v.Retries, State: r.Intent,
		ErrorMessage: v.ErrorMessage, ErrorCode: v.ErrorCode, Deadline: optionalDate(v.Deadline),
		CustomHeaders: headers, TenantID: v.TenantId, Position: r.Position,
		Operate: schema.JobOperate{
			ProcessDefinitionKey: v.ProcessDefinitionKey, BpmnProcessID: v.BpmnProcessId, JobKind: v.JobKind,
			ListenerEventType:     v.JobListenerEventType,
			FailedWithRetriesLeft: (r.Intent == "FAILED" || r.Intent == "ERROR_THROWN") && v.Retries > 0,
			Timestamp:             r.Timestamp,
		},
	}
	if r.Intent == "COMPLETED" || r.Intent == "CANCELED" {
		doc.EndTime = schema.FormatDate(r.Timestamp)
	}
	f.emit(schema.Job, strconv.FormatInt(r.Key, 10), doc, r)
	f.activityJob(r, v)
	f.jobUserTask(r, v)
}
