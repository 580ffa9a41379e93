package simulate

// noPath is the empty path of records other than ELEMENT_ACTIVATING
// (shared, never modified).
var (
	noPath      = [][]int64{}
	noKeys      = []int64{}
	noIndexes   = []int32{}
	noStrings   = []string{}
	emptyObject = document(nil)
)

// paths are e's elementInstancePath (one key chain per instance of the
// call chain, root first), processDefinitionPath and callingElementPath
// (per calling instance, the call activity's index among its process's
// sorted call activity ids).
func paths(e *elemInst) ([][]int64, []int64, []int32) {
	var eip [][]int64
	var pdp []int64
	var cep []int32
	if ca := e.pi.callEl; ca != nil {
		eip, pdp, cep = paths(ca)
		cep = append(cep, int32(indexOf(ca.pi.def.callIDs, ca.n.ID)))
	} else {
		cep = noIndexes
	}
	return append(eip, e.chain()), append(pdp, e.pi.def.key), cep
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// instanceValue is the part of a PROCESS_INSTANCE value every record of
// instance pi shares.
func instanceValue(pi *procInst, elementID, elementType, eventType string, flowScope int64) map[string]any {
	parentPI, parentEl := int64(-1), int64(-1)
	if pi.parent != nil {
		parentPI, parentEl = pi.parent.key, pi.callEl.key
	}
	return map[string]any{
		"bpmnProcessId": pi.def.g.ID, "processInstanceKey": pi.key, "processDefinitionKey": pi.def.key,
		"elementId": elementID, "flowScopeKey": flowScope, "bpmnEventType": eventType,
		"parentProcessInstanceKey": parentPI, "parentElementInstanceKey": parentEl,
		"bpmnElementType": elementType, "version": pi.def.version, "tenantId": tenant,
		"elementInstancePath": noPath, "processDefinitionPath": noKeys, "callingElementPath": noIndexes,
	}
}

// elementValue is the value of a lifecycle record of e; the paths are
// filled on ELEMENT_ACTIVATING only, as Zeebe does.
func (t *tree) elementValue(e *elemInst, withPaths bool) map[string]any {
	scope, event := int64(-1), "UNSPECIFIED"
	if e.scope != nil {
		scope = e.scope.key
	}
	if e.n != nil && e.typ != "MULTI_INSTANCE_BODY" {
		event = e.n.EventType
	}
	v := instanceValue(e.pi, e.id(), e.typ, event, scope)
	if withPaths {
		v["elementInstancePath"], v["processDefinitionPath"], v["callingElementPath"] = paths(e)
	}
	return v
}

// flowValue is the value of SEQUENCE_FLOW_TAKEN of flow id in scope.
func (t *tree) flowValue(scope *elemInst, id string) map[string]any {
	return instanceValue(scope.pi, id, "SEQUENCE_FLOW", "UNSPECIFIED", scope.key)
}
