package simulate

// terminate terminates e as a canceled instance does: ELEMENT_TERMINATING;
// its job canceled and its incident resolved, its user task canceled, the
// instance it called terminated, its active children terminated (newest
// last, as activated); then ELEMENT_TERMINATED.
func (t *tree) terminate(e *elemInst) {
	t.lifecycle(e, "ELEMENT_TERMINATING")
	if e.job != nil {
		t.p.emit(t.src, e.job.key, "JOB", "CANCELED", t.jobValue(e, "", -1, nil, ""))
		if e.incident != 0 {
			t.p.emit(t.src, e.incident, "INCIDENT", "RESOLVED", t.incidentValue(e))
			e.incident = 0
		}
		e.job = nil
	}
	if e.taskKey != 0 {
		t.p.emit(t.src, e.taskKey, "USER_TASK", "CANCELING", t.taskValue(e, e.assignee, "", nil, noStrings))
		t.p.emit(t.src, e.taskKey, "USER_TASK", "CANCELED", t.taskValue(e, e.assignee, "", nil, noStrings))
		e.taskKey = 0
	}
	if e.child != nil && !e.child.el.ended {
		t.terminate(e.child.el)
	}
	for len(e.children) > 0 {
		t.terminate(e.children[0])
	}
	t.lifecycle(e, "ELEMENT_TERMINATED")
	t.ended(e)
}
